"""Mail Settings: the MTA list, details, enable/disable, remove, host, status, queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from ertui import mtas, settings
from ertui.mta_rules import Security
from ertui.store.models import MessageKind
from ertui.tui.dialogs.confirm import ConfirmDialog
from ertui.tui.screens.settings import SettingsScreen
from ertui.tui.widgets.mta_detail import MtaDetail
from ertui.tui.widgets.mta_table import MtaTable
from tests.tui.conftest import FIXED_NOW, make_app
from tests.tui.helpers import static_text, table_rows


def _two(engine: Engine) -> None:
    mtas.add(
        engine,
        description="Relay",
        host="smtp.example.com",
        security=Security.STARTTLS,
        username="alice",
        password="s3cret!",
    )
    mtas.add(engine, description="Backup", host="10.0.0.5", port=2525, enabled=False)


async def test_lists_every_mta_with_its_settings(store: Engine) -> None:
    _two(store)
    mtas.record_failure(store, 2, "Connection refused by 10.0.0.5:2525", when=FIXED_NOW - timedelta(minutes=3))
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
        rows = table_rows(pilot.app)
        assert rows[0][:7] == ["◀ smtp.example.com", "Relay", "587", "STARTTLS", "alice", "5", "Enabled"]
        assert rows[0][7] == "never used"
        assert rows[1][:7] == ["◀ 10.0.0.5", "Backup", "2525", "None", "—", "5", "Disabled"]
        assert rows[1][7] == "✗ 3 min ago"


async def test_enter_right_left_expand_and_collapse_details(store: Engine) -> None:
    _two(store)
    mtas.record_failure(
        store, 2, "Connection refused by 10.0.0.5:2525 (the full text)", when=FIXED_NOW - timedelta(hours=2)
    )
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        detail = pilot.app.screen.query_one(MtaDetail)
        assert not detail.display
        await pilot.press("enter")
        assert detail.display
        assert table_rows(pilot.app)[0][0] == "▼ smtp.example.com"
        text = static_text(pilot.app, "#detail-text")
        assert "smtp.example.com:587" in text and "alice (password stored)" in text
        assert "Messages sent: 0" in text
        assert "s3cret" not in text
        await pilot.press("enter")
        assert not detail.display
        await pilot.press("down", "right")
        assert detail.display
        assert table_rows(pilot.app)[1][0] == "▼ 10.0.0.5"
        text = static_text(pilot.app, "#detail-text")
        assert "Connection refused by 10.0.0.5:2525 (the full text)" in text
        assert "1 in a row" in text
        assert "2026-03-14 07:30 (2 h ago)" in text
        await pilot.press("left")
        assert not detail.display
        assert table_rows(pilot.app)[1][0] == "◀ 10.0.0.5"


async def test_space_enables_and_disables_in_the_store(store: Engine) -> None:
    _two(store)
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("space")
        assert mtas.get(store, 1).enabled is False
        assert table_rows(pilot.app)[0][6] == "Disabled"
        await pilot.press("down", "space")
        assert mtas.get(store, 2).enabled is True
        await pilot.press("up", "space")
        assert mtas.get(store, 1).enabled is True
        assert table_rows(pilot.app)[0][6] == "Enabled"


async def test_delete_asks_and_n_keeps_y_removes(store: Engine) -> None:
    _two(store)
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("down", "delete")
        assert isinstance(pilot.app.screen, ConfirmDialog)
        assert "Backup" in static_text(pilot.app, "#confirm-question")
        await pilot.press("n")
        assert len(mtas.list_mtas(store)) == 2
        await pilot.press("delete")
        await pilot.press("escape")
        assert len(mtas.list_mtas(store)) == 2
        await pilot.press("delete", "y")
        await pilot.pause()
        assert [m.description for m in mtas.list_mtas(store)] == ["Relay"]
        assert [r[1] for r in table_rows(pilot.app)] == ["Relay"]


async def test_keys_without_an_mta_do_nothing_and_the_list_says_how_to_add(
    store: Engine,
) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("e", "t", "space", "delete", "enter")
        assert isinstance(pilot.app.screen, SettingsScreen)
        assert "press a to add one" in static_text(pilot.app, "#mta-empty")
        assert "No MTA is enabled" in static_text(pilot.app, "#status-line")


async def test_status_line_warns_without_enabled_mta_or_admin_address(engine: Engine) -> None:
    mtas.add(engine, description="Off", host="smtp.example.com", enabled=False)
    async with make_app(engine).run_test(size=(100, 30)) as pilot:
        status = static_text(pilot.app, "#status-line")
        assert "0 of 1 MTAs enabled" in status
        assert "No MTA is enabled: select one, press space" in status
        assert "No administrator email address" in status and "press A" in status
        await pilot.press("space")
        status = static_text(pilot.app, "#status-line")
        assert "1 of 1 MTAs enabled" in status
        assert "No MTA is enabled" not in status


async def test_master_host_shows_default_and_warns_when_not_fqdn(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ertui.settings.default_host_name", lambda: "localhost")
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        assert "localhost" in static_text(pilot.app, "#host-name")
        assert "default" in static_text(pilot.app, "#host-name")
        warning = static_text(pilot.app, "#host-warning")
        assert "must be a fully qualified domain name" in warning
        settings.set_master_host(store, "mail.example.com")
        pilot.app.screen.reload()  # type: ignore[attr-defined]
        await pilot.pause()
        assert "mail.example.com" in static_text(pilot.app, "#host-name")
        assert not pilot.app.screen.query_one("#host-warning").display


async def test_markup_in_store_values_is_shown_literally(store: Engine) -> None:
    mtas.add(store, description="[bold]Relay[/] [red]x", host="smtp.example.com")
    mtas.record_failure(store, 1, "550 [Errno 5] no [link=x]")
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        assert table_rows(pilot.app)[0][1] == "[bold]Relay[/] [red]x"
        await pilot.press("enter")
        assert "550 [Errno 5] no [link=x]" in static_text(pilot.app, "#detail-text")


async def test_m_and_the_button_open_the_mail_queue(store: Engine) -> None:
    from ertui.tui.screens.queue import QueueScreen

    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(pilot.app.screen, QueueScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
        await pilot.click("#queue-button")
        await pilot.pause()
        assert isinstance(pilot.app.screen, QueueScreen)


async def test_queue_counts_are_live(store: Engine) -> None:
    from ertui import queue

    async with make_app(store).run_test(size=(100, 30)) as pilot:
        assert "0 in flight · 0 waiting" in static_text(pilot.app, "#queue-counts")
        queue.enqueue(store, "a@example.com", "s", "b", MessageKind.NOTIFICATION)
        queue.enqueue(store, "b@example.com", "s", "b", MessageKind.NOTIFICATION)
        screen = pilot.app.screen
        assert isinstance(screen, SettingsScreen)
        screen.refresh_in_background()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert "0 in flight · 2 waiting" in static_text(pilot.app, "#queue-counts")


def test_queue_counts_show_in_flight_and_waiting_apart() -> None:
    """32 claimed over two MTAs of 2 connections is 4 on the wire and 28 waiting,
    not "32 sending" (issue 11 item 11)."""
    from ertui.tui.widgets.status_bar import counts_text

    moving = counts_text({"queued": 0, "sending": 32, "deferred": 1, "failed": 0}, connections=4).plain
    assert moving.splitlines() == ["4 in flight · 28 waiting", "1 deferred", "0 failed"]
    idle = counts_text({"queued": 3, "deferred": 0, "failed": 2}).plain
    assert idle.splitlines()[0] == "0 in flight · 3 waiting"


async def test_the_status_bar_never_rewraps(store: Engine) -> None:
    """Whatever the counts, the status line and counts keep their widths and lines."""
    from ertui.tui.widgets.status_bar import Status, StatusBar

    async with make_app(store).run_test(size=(80, 24)) as pilot:
        bar = pilot.app.screen.query_one(StatusBar)
        shapes = set()
        for sending, connections in ((0, 0), (1, 1), (32, 4), (123456, 100)):
            status = Status(
                "running",
                "Demo sink received 123456 messages",
                2,
                2,
                "a@example.com",
                None,
                {"sending": sending, "queued": 7},
                connections,
            )
            bar.show(status)
            await pilot.pause()
            line, counts = bar.query_one("#status-line"), bar.query_one("#queue-counts")
            shapes.add((line.region, counts.region))
        assert len(shapes) == 1, shapes


async def test_a_toast_hides_nothing_of_the_status_at_80x24(store: Engine) -> None:
    from textual.widgets._toast import Toast

    async with make_app(store).run_test(size=(80, 24), notifications=True) as pilot:
        pilot.app.notify("MTA 'Primary relay (DC1, the one in the basement)' enabled.")
        await pilot.pause()
        await pilot.pause(0.1)
        (toast,) = pilot.app.screen.query(Toast)
        for selector in ("#status-line", "#queue-counts", "#queue-button", "#host-section", "#mta-empty"):
            region = pilot.app.screen.query_one(selector).region
            assert not toast.region.overlaps(region), selector


async def test_table_updates_in_place_keeping_the_cursor(store: Engine) -> None:
    _two(store)
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("down")
        table = pilot.app.screen.query_one(MtaTable)
        assert table.current_id == 2
        mtas.edit(store, 2, host="relay2.example.com")
        pilot.app.screen.reload()  # type: ignore[attr-defined]
        await pilot.pause()
        assert table.current_id == 2
        assert table_rows(pilot.app)[1][0] == "◀ relay2.example.com"


async def test_the_mouse_works_too(store: Engine) -> None:
    from ertui.tui.dialogs.host import HostDialog
    from ertui.tui.dialogs.mta_form import MtaForm

    _two(store)
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        detail = pilot.app.screen.query_one(MtaDetail)
        await pilot.click(MtaTable, offset=(3, 2))  # second row: highlight
        await pilot.click(MtaTable, offset=(3, 2))  # and again: details
        await pilot.pause()
        assert detail.display
        assert table_rows(pilot.app)[1][0] == "▼ 10.0.0.5"
        await pilot.click("#host-name")
        await pilot.pause()
        assert isinstance(pilot.app.screen, HostDialog)
        await pilot.click("#cancel")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
        await pilot.press("e")
        assert isinstance(pilot.app.screen, MtaForm)
        await pilot.click("#cancel")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)


async def test_details_count_connections_of_every_worker_on_the_store(store: Engine) -> None:
    from ertui.delivery import slots

    _two(store)
    # another process's worker holds two connections to the first MTA
    assert slots.acquire(store, 1, 5, "other-host:123:abcd", 300) is not None
    assert slots.acquire(store, 1, 5, "other-host:123:abcd", 300) is not None
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        assert "Open connections now: 2 (all workers)" in static_text(pilot.app, "#detail-text")
        slots.release_all(store, "other-host:123:abcd")
        pilot.app.screen.reload()  # type: ignore[attr-defined]
        await pilot.pause()
        assert "Open connections now: 0 (all workers)" in static_text(pilot.app, "#detail-text")


async def test_a_store_error_is_a_sentence_not_a_crash(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    _two(store)

    def locked(*args: object, **kwargs: object) -> None:
        raise OperationalError("UPDATE mta", {}, Exception("database is locked"))

    monkeypatch.setattr("ertui.mtas.set_enabled", locked)
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("space")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
        messages = [n.message for n in pilot.app._notifications]
        assert "The store cannot be read or written: database is locked." in messages
        assert mtas.get(store, 1).enabled is True


async def test_times_are_shown_in_the_local_zone(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+05:30, no daylight saving
    time.tzset()
    _two(store)
    mtas.record_success(store, 1, when=FIXED_NOW - timedelta(minutes=90))
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        assert "Last success: 2026-03-14 13:30 (1 h ago)" in static_text(pilot.app, "#detail-text")


async def test_at_80_columns_the_footer_shows_every_key_whole(store: Engine) -> None:
    """h is written next to the host name on screen, so the footer leaves it out
    and p Pause fits (it was cut to a bare 'p')."""
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    mtas.add(store, description="Relay", host="smtp.example.com")
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        keys = [k for k in pilot.app.screen.query_one(Footer).children if isinstance(k, FooterKey)]
        assert [k.description for k in keys][-1] == "Pause"
        for key in keys:
            assert key.region.right <= 80, (key.description, key.region)
        assert "h Edit Host" in static_text(pilot.app, "#host-name")
