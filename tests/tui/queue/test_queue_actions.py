"""Pilot tests: the queue actions go through the core and the table shows the result."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from textual.widgets import Button, DataTable, Static

from ertui import queue
from ertui.tui.dialogs.confirm import ConfirmDialog
from ertui.tui.screens.message import MessageScreen
from ertui.tui.screens.queue import QueueScreen
from tests.tui.conftest import FIXED_NOW
from tests.tui.queue.conftest import QueueApp, add_attempt, fill, set_fields
from tests.tui.queue.test_queue_screen import cell, screen_of, settle


async def test_r_retries_a_failed_message_now(store: Engine) -> None:
    ids = fill(store, 2)
    set_fields(store, ids[1], status="failed", attempts=5, last_error="out of attempts")
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = screen_of(pilot.app).table
        assert cell(table, 0, "status") == "failed"
        await pilot.press("r")
        await settle(pilot)
        assert queue.get_message(store, ids[1]).status == "queued"
        assert cell(table, 0, "status") == "queued" and cell(table, 0, "attempts") == "5"  # history kept
        assert table.cursor_row == 0


async def test_r_leaves_a_failed_password_recovery_email_and_says_why(store: Engine) -> None:
    """Its link was erased when it failed: a resend would carry a dead link."""
    ids = fill(store, 1)
    set_fields(store, ids[0], status="failed", kind="password_recovery", last_error="refused")
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert queue.get_message(store, ids[0]).status == "failed"
        said = [str(n.message) for n in pilot.app._notifications]
        assert any("nothing to retry" in m and "ertui user recover" in m for m in said), said


async def test_h_holds_and_releases(store: Engine) -> None:
    ids = fill(store, 2)
    async with QueueApp(store).run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        table = screen_of(pilot.app).table
        await pilot.press("down", "h")
        await settle(pilot)
        assert queue.get_message(store, ids[0]).status == "held"
        assert cell(table, 1, "status") == "held" and cell(table, 1, "next") == "—"
        await pilot.press("h")
        await settle(pilot)
        assert queue.get_message(store, ids[0]).status == "queued"
        assert cell(table, 1, "status") == "queued" and table.cursor_row == 1


async def test_delete_asks_first(store: Engine) -> None:
    ids = fill(store, 3)
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = screen_of(pilot.app)
        await pilot.press("delete")
        await pilot.pause()
        question = pilot.app.screen
        assert isinstance(question, ConfirmDialog)  # the console's one y/n dialog
        assert str(question.query_one("#yes", Button).label) == "Delete (y)"
        assert "user003@example.com" in str(question.query_one("#confirm-question").render())
        await pilot.press("n")
        await settle(pilot)
        assert pilot.app.screen is screen and screen.table.row_count == 3
        assert queue.count_messages(store) == 3
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert screen.table.row_count == 2 and queue.count_messages(store) == 2
        assert str(ids[2]) not in {cell(screen.table, r, "id") for r in range(2)}


async def test_shift_r_retries_every_failed_message(store: Engine) -> None:
    ids = fill(store, 4)
    for i in ids[:3]:
        set_fields(store, i, status="failed", attempts=5, last_error="550 rejected")
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s")  # failed only
        await settle(pilot)
        screen = screen_of(pilot.app)
        assert screen.table.row_count == 3
        await pilot.press("R")
        await settle(pilot)
        assert queue.count_messages(store, status="failed") == 0
        assert screen.table.row_count == 0
        assert screen.query_one("#queue-empty", Static).display


async def test_enter_opens_the_message_with_its_attempt_log(store: Engine) -> None:
    (mid,) = fill(store, 1)
    set_fields(
        store,
        mid,
        status="deferred",
        attempts=2,
        last_error="451 4.3.0 try later",
        last_attempt_at=FIXED_NOW - timedelta(minutes=3),
        next_attempt_at=FIXED_NOW + timedelta(minutes=5),
    )
    add_attempt(
        store,
        mid,
        started_at=FIXED_NOW - timedelta(minutes=10),
        duration_ms=15,
        outcome="mta_error",
        kind="refused",
        mta_description="Broken relay",
        text="Connection refused by 127.0.0.1:2",
    )
    add_attempt(
        store,
        mid,
        started_at=FIXED_NOW - timedelta(minutes=3),
        duration_ms=40,
        outcome="deferred",
        code=451,
        mta_description="Relay",
        text="4.3.0 try later",
    )
    async with QueueApp(store).run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        queue_screen = screen_of(pilot.app)
        assert cell(queue_screen.table, 0, "next") == "in 5 min"
        assert cell(queue_screen.table, 0, "last") == "3 min ago"
        await pilot.press("enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, MessageScreen) and screen.message_id == mid
        attempts = screen.query_one("#message-attempts", DataTable)
        assert attempts.row_count == 2
        assert [cell(attempts, r, "outcome") for r in range(2)] == ["mta_error", "deferred"]
        assert cell(attempts, 1, "code") == "451"
        summary = screen.query_one("#message-summary", Static)
        assert "user001@example.com" in pilot.app.export_screenshot()
        assert summary.display
        # h in the message view holds it; Esc goes back to the queue, which shows it
        await pilot.press("h")
        await settle(pilot)
        assert queue.get_message(store, mid).status == "held"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, QueueScreen)
        assert cell(queue_screen.table, 0, "status") == "held"


async def test_delete_from_the_message_view_goes_back(store: Engine) -> None:
    fill(store, 1)
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, MessageScreen)
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(pilot.app.screen, QueueScreen)
        assert queue.count_messages(store, status="all") == 0
        assert pilot.app.screen.table.row_count == 0


async def test_markup_in_a_subject_shows_literally(store: Engine) -> None:
    subject = "[URGENT] [b]x[/b] [red] [/"
    fill(store, 1, subject=subject)
    async with QueueApp(store).run_test(size=(200, 30)) as pilot:
        await settle(pilot)
        table = screen_of(pilot.app).table
        assert cell(table, 0, "subject") == subject
        assert subject in pilot.app.export_screenshot().replace("&#160;", " ")
        await pilot.press("enter")
        await settle(pilot)
        assert subject in pilot.app.export_screenshot().replace("&#160;", " ")


async def test_escape_goes_back(store: Engine) -> None:
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(pilot.app.screen, QueueScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, QueueScreen)


async def test_an_action_that_changes_nothing_warns(store: Engine) -> None:
    (mid,) = fill(store, 1)
    set_fields(store, mid, status="sending")
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        notes = list(pilot.app._notifications)
        assert [n.severity for n in notes] == ["warning"]
        assert "cannot be held" in notes[-1].message
        assert queue.get_message(store, mid).status == "sending"
        assert cell(screen_of(pilot.app).table, 0, "status") == "sending"


async def test_a_store_error_in_the_message_view_says_what_failed(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same sentence as on the queue, not the driver's bare 'database is locked'."""
    from sqlalchemy.exc import OperationalError

    fill(store, 1)

    def locked(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("UPDATE message", {}, Exception("database is locked"))

    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, MessageScreen)
        monkeypatch.setattr(queue, "retry", locked)
        await pilot.press("r")
        await settle(pilot)
        said = [str(n.message) for n in pilot.app._notifications]
        assert said == ["The store cannot be read or written: database is locked."]
