"""Keys that arrive while a screen or dialog is being built or torn down (typed
ahead over SSH, or within 0.3 s of each other) are ignored or handled: never a
crash. Each sequence is posted in one go, as a burst read from the terminal."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from textual import events

from ertui import mtas
from tests.tui.conftest import make_app

BURSTS = [
    "qe",  # quit, then Edit before the console is gone (issue 11 item 1)
    "qa",  # quit, then Add
    "qt",
    "qm",
    "q?",
    "aq",
    "ee",
    "e\x1be",
    "a\x1ba",
    "t\x1bt",
    "m\x1bm",
    "m?\x1b\x1b",
    "mq",
    "?e",
    "A\x1bh",
    "h\x1bA",
    "d\x1bd",
]
NAMES = {"\x1b": "escape", "?": "question_mark", "d": "delete"}


def key_event(ch: str) -> events.Key:
    name = NAMES.get(ch, ch)
    return events.Key(name, ch if ch.isprintable() and name != "delete" else None)


@pytest.mark.parametrize("burst", BURSTS, ids=[b.replace("\x1b", "Esc") for b in BURSTS])
async def test_a_burst_of_keys_never_crashes(store: Engine, burst: str) -> None:
    mtas.add(store, description="Relay", host="127.0.0.1", port=2525, enabled=False)
    app = make_app(store, start_worker=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for ch in burst:  # no pause between them: the keys wait in the app's queue together
            app.post_message(key_event(ch))
        await pilot.pause(0.3)
    assert app._exception is None
    assert app.return_code in (None, 0)
