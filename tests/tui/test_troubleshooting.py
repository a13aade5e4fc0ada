"""The troubleshooting screens: Queue shape (Enter opens the Mail Queue on that
domain), the Delivery log (live, Space pauses) and the Doctor dialog (checks
fill in), each on the core function its CLI command uses."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

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


async def test_the_log_reads_only_the_newest_1000_when_far_behind_and_rests_after_a_flood(store: Engine) -> None:
    from datetime import timedelta

    from ertui.store.engine import session
    from ertui.store.models import Attempt
    from ertui.timeutil import utcnow
    from ertui.tui.screens.delivery_log import BUSY, MAX_LINES

    (mid,) = queue.enqueue(store, ["one@x.example"], "Hello", "Body")

    def attempts(n: int, first: int) -> None:
        with session(store) as s:
            s.add_all(
                Attempt(message_id=mid, started_at=utcnow() - timedelta(seconds=1), duration_ms=1,
                        outcome="deferred", code=451, text=f"busy {first + i}")
                for i in range(n)
            )  # fmt: skip
            s.commit()

    async with Host(lambda: DeliveryLogScreen(store, poll_seconds=60)).run_test(size=(100, 30)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, DeliveryLogScreen)
        await pilot.pause(0.2)
        await pilot.press("space")  # paused while 1,200 attempts are made
        attempts(MAX_LINES + 200, 1)
        await pilot.press("space")  # resumed: one read, of the newest 1,000 only
        await wait_for(pilot, lambda: screen.shown > 0, tries=500)
        lines = log_lines(pilot.app)
        assert screen.shown == MAX_LINES == len(lines)
        assert lines[0].endswith("busy 201  (1 ms)") and lines[-1].endswith(f"busy {MAX_LINES + 200}  (1 ms)")
        assert screen._rest  # a flood: the next poll rests
        screen._tick()
        assert not screen._rest
        attempts(1, MAX_LINES + 201)
        screen._tick()  # the one after reads again
        await wait_for(pilot, lambda: screen.shown == MAX_LINES + 1, tries=500)
        assert BUSY <= MAX_LINES and log_lines(pilot.app)[-1].endswith(f"busy {MAX_LINES + 201}  (1 ms)")


async def test_the_log_shows_each_attempt_once_when_reads_overlap_the_polls(store: Engine) -> None:
    """Reads slower than the poll (a loaded store) never run side by side: each
    attempt is shown once and in order (they were read twice, each read
    starting from where the other had not yet moved the cursor)."""
    from datetime import timedelta

    from ertui.store.engine import session
    from ertui.store.models import Attempt
    from ertui.timeutil import utcnow

    (mid,) = queue.enqueue(store, ["one@x.example"], "Hello", "Body")
    with session(store) as s:
        s.add_all(
            Attempt(message_id=mid, started_at=utcnow() - timedelta(seconds=1), duration_ms=1,
                    outcome="deferred", code=451, text=f"busy {i}")
            for i in range(150)
        )  # fmt: skip
        s.commit()
    async with Host(lambda: DeliveryLogScreen(store, poll_seconds=0.001)).run_test(size=(100, 30)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, DeliveryLogScreen)
        await wait_for(pilot, lambda: screen.shown >= 150, tries=500)
        for round_no in range(5):  # more attempts while it polls as fast as it can
            with session(store) as s:
                s.add_all(
                    Attempt(message_id=mid, started_at=utcnow(), duration_ms=1, outcome="deferred", code=451,
                            text=f"more {round_no}.{i}")
                    for i in range(20)
                )  # fmt: skip
                s.commit()
            await wait_for(pilot, lambda n=round_no: screen.shown >= 150 + 20 * (n + 1), tries=500)
        await pilot.pause(0.2)
        texts = [line.rsplit("451 ", 1)[1].split("  (")[0] for line in log_lines(pilot.app)]
        wanted = [f"busy {i}" for i in range(150)] + [f"more {r}.{i}" for r in range(5) for i in range(20)]
        assert texts == wanted
        assert screen.shown == len(wanted)
