"""Bad input in the console's new dialogs, tried as an unlucky operator would:
a sentence under the field, nothing written, never a crash."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from ertui import delivery_policy
from ertui.tui.dialogs.policy import PolicyDialog
from tests.tui.conftest import make_app
from tests.tui.helpers import static_text, type_into


@pytest.mark.parametrize("age", ["999999999w", "9999999999999999s"])
async def test_policy_dialog_refuses_an_age_too_large_for_a_date(store: Engine, age: str) -> None:
    """``999999999w`` overflowed a timedelta: the console crashed on Save."""
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("P")
        await type_into(pilot, "#lifetime", age)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(pilot.app.screen, PolicyDialog)
        assert static_text(pilot.app, "#lifetime-error").startswith("Message lifetime must be")
        assert delivery_policy.stored_values(store) == {}
