"""The troubleshooting screens: Queue shape (Enter opens the Mail Queue on that
domain), the Delivery log (live, Space pauses) and the Doctor dialog (checks
fill in), each on the core function its CLI command uses."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from textual.app import App
from textual.screen import Screen
from textual.widgets import DataTable, Log, Static

from ertui import mtas, queue, settings
from ertui.delivery.worker import Worker
from ertui.tui.dialogs.doctor import DoctorDialog
from ertui.tui.screens.delivery_log import DeliveryLogScreen
from ertui.tui.screens.queue import QueueScreen
from ertui.tui.screens.queue_filter import ViewFilter
from ertui.tui.screens.shape import ShapeScreen
from tests.delivery.conftest import fast_settings
from tests.smtpd import SmtpServer
from tests.tui.helpers import wait_for
from tests.tui.queue.conftest import stylesheets


class Host(App[None]):
    CSS_PATH = stylesheets()  # type: ignore[assignment]

    def __init__(self, make: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make = make
        self.animation_level = "none"

    def on_mount(self) -> None:
        self.push_screen(self.make())


async def drain(engine: Engine) -> None:
    await asyncio.wait_for(Worker(engine, fast_settings()).run(once=True), 30)


def log_lines(app: App[Any]) -> list[str]:
    return list(app.screen.query_one(Log).lines)


async def test_shape_rows_and_enter_opens_the_queue_on_that_domain(store: Engine) -> None:
    queue.enqueue(store, ["a@big.example", "b@big.example", "c@small.example"], "Report", "Body")

    def open_queue(view: ViewFilter) -> None:
        pilot.app.push_screen(QueueScreen(store, view=view))

    async with Host(lambda: ShapeScreen(store, open_queue, refresh_seconds=60)).run_test(size=(100, 30)) as pilot:
        table = pilot.app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count > 1)
        assert table.row_count == 3, [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(3)]
        assert [r[0] for r in rows] == ["TOTAL", "big.example", "small.example"]
        assert [r[1] for r in rows] == ["3", "2", "1"]
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, QueueScreen))
        screen = pilot.app.screen
        assert isinstance(screen, QueueScreen) and screen.view == ViewFilter(status="unsent", domain="big.example")
        await wait_for(pilot, lambda: screen.table.row_count == 2)


# Failed once in a clean-clone CI run (the first two lines never showed in
# 20 s; ~2 s normally): rerun up to twice, every run still asserts everything.
@pytest.mark.flaky(reruns=2)
async def test_delivery_log_tails_attempts_and_space_pauses(store: Engine, smtp_server: SmtpServer) -> None:
    settings.set_master_host(store, "mail.example.com")
    mtas.add(store, description="Relay", host="127.0.0.1", port=smtp_server.port)
    smtp_server.behaviour.rcpt_replies["gone@x.example"] = "550 5.1.1 \x1b]0;PWNED\x07no such user"
    queue.enqueue(store, ["one@x.example", "gone@x.example"], "Hello", "Body")
    await drain(store)
    async with Host(lambda: DeliveryLogScreen(store, poll_seconds=0.05)).run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: len(log_lines(pilot.app)) == 2, tries=1000)
        sent, failed = sorted(log_lines(pilot.app), key=lambda line: "gone@" in line)
        assert "one@x.example" in sent and "sent 250" in sent
        assert "failed 550" in failed and "\\x1b]0;PWNED\\x07" in failed  # escapes shown, never sent raw
        await pilot.press("space")
        assert "paused" in str(pilot.app.screen.query_one("#log-header", Static).render())
        queue.enqueue(store, ["three@x.example"], "Hello", "Body")
        await drain(store)
        await pilot.pause(0.3)
        assert len(log_lines(pilot.app)) == 2  # paused: nothing new shown
        await pilot.press("space")
        await wait_for(pilot, lambda: len(log_lines(pilot.app)) == 3, tries=1000)
        assert "three@x.example" in log_lines(pilot.app)[2]


async def test_doctor_dialog_fills_in_the_checks(store: Engine) -> None:
    async with Host(lambda: DoctorDialog(store)).run_test(size=(100, 30)) as pilot:
        dialog = pilot.app.screen
        assert isinstance(dialog, DoctorDialog)
        await wait_for(pilot, lambda: dialog.report is not None)
        assert dialog.report is not None and not dialog.report.ok
        shown = str(dialog.query_one("#doctor-list", Static).render())
        assert "✓ store" in shown and "✓ host name" in shown
        assert "✗ enabled MTAs" in shown and "fix: ertui mta add" in shown
        assert "check(s) failed" in str(dialog.query_one("#doctor-summary", Static).render())


async def test_with_a_filter_h_holds_every_matching_message_after_a_confirmation(store: Engine) -> None:
    from ertui.tui.dialogs.confirm import ConfirmDialog
    from tests.tui.queue.conftest import QueueApp

    ids = queue.enqueue(store, ["a@stuck.example", "b@stuck.example", "c@fine.example"], "Report", "Body")
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, QueueScreen)
        await pilot.pause()
        assert not screen.check_action("bulk", ("hold",))  # no filter: not offered
        screen.show_filter("@stuck.example")
        await pilot.pause()
        assert screen.check_action("bulk", ("hold",))
        await pilot.press("H")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog))
        dialog = pilot.app.screen
        assert isinstance(dialog, ConfirmDialog) and "Hold 2 message(s) matching" in dialog.question
        await pilot.press("y")
        await wait_for(pilot, lambda: queue.count_messages(store, status="held") == 2, tries=500)
        assert [queue.get_message(store, i).status for i in ids] == ["held", "held", "queued"]
