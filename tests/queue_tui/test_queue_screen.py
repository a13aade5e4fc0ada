"""Pilot tests of the Mail Queue screen."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from ertui import queue
from ertui.tui.queue_screen import PAGE_SIZE, QueueScreen
from tests.queue_tui.conftest import QueueApp, fill, set_fields


def screen_of(app: QueueApp) -> QueueScreen:
    assert isinstance(app.screen, QueueScreen)
    return app.screen


async def settle(pilot: Pilot[None]) -> None:
    """Let the loader thread finish and its message be handled."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def cell(table: DataTable[object], row: int, column: str) -> str:
    value = table.get_cell(table.coordinate_to_cell_key((row, 0)).row_key, column)
    return str(getattr(value, "plain", value))


async def test_shows_unsent_mail_with_the_columns(store: Engine) -> None:
    ids = fill(store, 3)
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = screen_of(pilot.app).table
        labels = [str(c.label) for c in table.columns.values()]
        assert labels == ["#", "Receiver", "Subject", "Status", "Tries", "Last attempt",
                          "Next attempt", "MTA", "Last error"]
        assert table.row_count == 3
        # newest first, as the core lists them
        assert cell(table, 0, "id") == str(ids[-1])
        assert cell(table, 0, "to") == "user003@example.com"
        assert cell(table, 0, "status") == "queued"
        assert cell(table, 0, "next") == "due"
        info = str(pilot.app.screen.query_one("#queue-info", Static).render())
        assert "3 messages" in info and "page 1 of 1" in info
