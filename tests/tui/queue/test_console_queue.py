"""The Mail Queue inside the console's App: `m` opens it, and it follows the
background delivery worker live (a real aiosmtpd server answering 451)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from ertui import mtas, queue
from ertui.tui.app import ErtuiApp
from ertui.tui.screens.queue import QueueScreen
from tests.smtpd import SmtpServer
from tests.tui.helpers import palette_choose, wait_for
from tests.tui.queue.conftest import fill
from tests.tui.queue.test_queue_screen import cell, settle


async def test_m_opens_the_queue_and_escape_goes_back(store: Engine) -> None:
    fill(store, 3)
    app = ErtuiApp(store, start_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        settings_screen = app.screen
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert app.screen.table.row_count == 3
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is settings_screen


async def test_queue_follows_the_worker_without_moving_the_cursor(store: Engine, smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.rcpt_reply = "451 4.3.0 Mailbox busy, try later"
    mtas.add(store, description="Relay", host="127.0.0.1", port=smtp_server.port)
    # real times (fill() pins them in the past, where they would have expired)
    ids = queue.enqueue_batch(store, [(f"user{i}@example.com", f"Report {i}", "b") for i in (1, 2, 3)])
    assert queue.hold(store, ids) == 3  # the worker leaves them alone for now
    app = ErtuiApp(store, start_worker=True)
    async with app.run_test(size=(120, 30)) as pilot:
        # (the delivery worker never completes: wait on what is shown instead)
        await pilot.pause(0.3)
        await pilot.press("m")
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        for _ in range(100):
            await pilot.pause(0.05)
            if screen.table.row_count == 3:
                break
        await pilot.press("down", "down")
        assert screen.current_id() == ids[0]
        queue.release(store, ids)  # as `ertui queue release` would, from elsewhere
        for _ in range(150):
            await pilot.pause(0.1)
            statuses = [cell(screen.table, r, "status") for r in range(screen.table.row_count)]
            if statuses == ["deferred"] * 3:
                break
        assert statuses == ["deferred"] * 3
        assert [cell(screen.table, r, "attempts") for r in range(3)] == ["1"] * 3
        assert cell(screen.table, 2, "mta") == "Relay"
        assert "Mailbox busy" in cell(screen.table, 2, "error")
        assert screen.current_id() == ids[0] and screen.table.cursor_row == 2
        await app.stop_delivery()


async def test_palette_offers_the_queue_actions(store: Engine) -> None:
    fill(store, 1)
    app = ErtuiApp(store, start_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        await palette_choose(pilot, "colon", "retry all", "Retry all")
        await wait_for(pilot, lambda: any("failed message" in str(n.message) for n in app._notifications))
        assert isinstance(app.screen, QueueScreen)


async def test_the_footer_shows_help_first_and_every_queue_key_at_80_columns(
    store: Engine,
) -> None:
    from textual.widgets._footer import FooterKey

    fill(store, 1)
    app = ErtuiApp(store, start_worker=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        keys = [k for k in app.screen.query(FooterKey) if k.display]
        shown = [(k.key_display, k.description) for k in keys]
        assert shown[0] == ("?", "Help")
        for wanted in ("Back", "Filter", "Status", "Retry", "Hold", "Delete", "Retry all"):
            assert wanted in [d for _, d in shown]
        for key in keys:  # nothing pushed off the right edge
            assert key.region.right <= 80, (key.description, key.region)


async def test_help_and_palette_say_what_enter_does_in_the_queue(store: Engine) -> None:
    from ertui.tui.commands import screen_commands
    from ertui.tui.screens.help import HelpScreen

    fill(store, 1)
    app = ErtuiApp(store, start_worker=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert "Open" in [c.name for c in screen_commands(app.screen)]
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = {desc: (keys, tip) for keys, desc, tip in app.screen.rows}
        assert rows["Open"] == ("⏎", "Open the message with its attempt log and body")
