"""Every relative time on a screen is recomputed on the same tick (issue 11 item
14): the attempt log does not keep "just now" while the header moves on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from ertui.tui.screens.message import MessageScreen
from tests.tui.conftest import FIXED_NOW
from tests.tui.helpers import wait_for
from tests.tui.queue.conftest import QueueApp, add_attempt, fill, set_fields


async def test_the_attempt_log_and_the_summary_age_together(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    (mid,) = fill(store, 1)
    set_fields(store, mid, status="deferred", attempts=1, last_attempt_at=FIXED_NOW - timedelta(seconds=2))
    add_attempt(store, mid, started_at=FIXED_NOW - timedelta(seconds=2), duration_ms=5, outcome="deferred", text="451")
    async with QueueApp(store).run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.3)
        pilot.app.push_screen(MessageScreen(store, mid, poll_seconds=None))
        screen = pilot.app.screen
        assert isinstance(screen, MessageScreen)
        await wait_for(pilot, lambda: screen.msg is not None)
        table: DataTable[object] = screen.query_one("#message-attempts", DataTable)

        def started() -> str:
            return str(table.get_cell_at(Coordinate(0, 0)))

        assert "just now" in started()
        monkeypatch.setattr("ertui.tui.timefmt.now", lambda: FIXED_NOW + timedelta(minutes=2))
        screen.reload()
        await wait_for(pilot, lambda: "2 min ago" in started())
        drawn = pilot.app.export_screenshot().replace("&#160;", " ")
        assert "(2 min ago)" in drawn and "just now" not in drawn  # summary and log, one tick
