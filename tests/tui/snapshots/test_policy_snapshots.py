"""The Delivery policy dialog (`P` on Mail Settings), at 100×30 and 80×24."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from textual.pilot import Pilot

from ertui import delivery_policy
from tests.tui.conftest import make_app
from tests.tui.snapshots.conftest import SIZES, then

Size = tuple[int, int]


@pytest.mark.parametrize("size", SIZES)
def test_delivery_policy_dialog(snap_compare: Any, populated: Engine, size: Size) -> None:
    delivery_policy.set_policy(populated, {"lifetime": 2 * 86400.0})
    assert snap_compare(make_app(populated), terminal_size=size, run_before=then(lambda p: p.press("P")))


async def _bad_first_retry(pilot: Pilot[Any]) -> None:
    await pilot.press("P")
    await pilot.press("ctrl+a", "ctrl+k", *"2h", "enter")


@pytest.mark.parametrize("size", SIZES)
def test_delivery_policy_dialog_refusal_and_override(
    snap_compare: Any, populated: Engine, size: Size, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERTUI_WORKER_MAX_ATTEMPTS", "7")
    assert snap_compare(make_app(populated), terminal_size=size, run_before=then(_bad_first_retry))
