"""Text from outside reaches the operator's terminal only as visible escapes
(issue 10 item 5, the console's part): MTA descriptions, hosts, last errors,
subjects, recipients, replies, notifications."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from textual.app import App

from ertui import mtas, queue
from ertui.store.models import Message
from ertui.tui.screens.message import MessageScreen
from ertui.tui.screens.queue import QueueScreen
from tests.delivery.conftest import rename_raw
from tests.tui.conftest import make_app
from tests.tui.helpers import wait_for

HOSTILE = "\x1b]0;PWNED\x07\x1b[2J\x1b[31mRED\x1b]8;;http://evil.example/\x07click\u202e"


def screen_text(app: App[Any]) -> str:
    """Everything drawn on the screen, as the terminal would receive it."""
    return app.export_screenshot()


def assert_safe(app: App[Any]) -> None:
    drawn = screen_text(app)
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in drawn
    assert "\\x1b" in drawn  # shown, visibly


async def test_hostile_text_is_shown_as_escapes_everywhere(store: Engine) -> None:
    mta = mtas.add(store, description="Relay", host="relay.example.com", enabled=False)
    rename_raw(store, mta, f"Relay {HOSTILE}")  # the services refuse it; a script wrote it
    assert mta.id is not None
    mtas.record_failure(store, mta.id, f"550 5.1.1 {HOSTILE}")
    (msg_id,) = queue.enqueue_batch(store, [("user@example.com", "Subject", "Body")])
    with store.begin() as conn:  # enqueue refuses control characters in a subject; a script wrote it
        conn.execute(update(Message).where(Message.id == msg_id).values(subject=f"Subject {HOSTILE}"))  # type: ignore[arg-type]
    queue.hold(store, [msg_id])
    async with make_app(store).run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        assert_safe(pilot.app)  # the MTA list
        await pilot.press("enter")  # the details, with the last error
        await pilot.pause()
        assert_safe(pilot.app)
        await pilot.press("space")  # the toast names the MTA
        await pilot.pause(0.2)
        assert_safe(pilot.app)
        await pilot.press("m")
        screen = pilot.app.screen
        assert isinstance(screen, QueueScreen)
        await wait_for(pilot, lambda: screen.loaded)
        await pilot.press("s", "s", "s", "s")  # all
        await wait_for(pilot, lambda: screen.table.row_count == 1)
        assert_safe(pilot.app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, MessageScreen) and pilot.app.screen.msg is not None)
        assert_safe(pilot.app)
