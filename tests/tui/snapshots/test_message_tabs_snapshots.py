"""Snapshots of the message view's Headers and Raw tabs (a password-recovery
email: its token masked) and of its Attempts tab, at 100x30 and 80x24."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.engine import Engine

from ertui import render
from ertui.store import sealed
from tests.tui.queue.conftest import QueueApp, fill, set_fields
from tests.tui.snapshots.test_queue_snapshots import SIZES, mixed_store, snap

SnapCompare = Callable[..., bool]
LINK = "https://console.example.com/reset-password?token="
TOKEN = "Zq7RkW2pLm9XvB4nTc6YhJ8sDf3GaE1u"


def recovery_message(store: Engine) -> int:
    """A sealed recovery email with fixed headers: the bytes never vary."""
    (mid,) = fill(store, 1, subject="Password recovery for dave")
    fields = {
        "sender": "admin@example.com",
        "recipient": "user001@example.com",
        "subject": "Password recovery for dave",
        "message_id": "<fixed@console.example.com>",
        "date": "Sat, 14 Mar 2026 08:48:00 +0000",
    }
    text = "Someone asked to reset the password of dave.\nOpen this link within an hour:\n{}\n"
    real = render.render(body=text.format(LINK + TOKEN), **fields)
    masked = sealed.mask_tokens(text.format(LINK + TOKEN))
    raw = sealed.seal(real, render.render(body=masked, **fields))
    set_fields(store, mid, raw=raw, body=masked, kind="password_recovery")
    return mid


@pytest.mark.parametrize("size", SIZES)
def test_message_headers_tab(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    recovery_message(store)
    assert snap(snap_compare, QueueApp(store), size, "enter", "3")


@pytest.mark.parametrize("size", SIZES)
def test_message_raw_tab_masks_the_token(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    recovery_message(store)
    assert snap(snap_compare, QueueApp(store), size, "enter", "4")


@pytest.mark.parametrize("size", SIZES)
def test_message_attempts_tab(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    mixed_store(store)
    assert snap(snap_compare, QueueApp(store), size, "enter", "2")
