"""Pilot tests of the Mail Queue screen."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from textual.app import App
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey

from ertui import queue, queue_bulk
from ertui.tui.screens.queue import QueueScreen
from ertui.tui.screens.queue_page import PAGE_SIZE
from tests.tui.conftest import FIXED_NOW
from tests.tui.queue.conftest import QueueApp, fill, set_fields


def screen_of(app: App[Any]) -> QueueScreen:
    assert isinstance(app.screen, QueueScreen)
    return app.screen


async def settle(pilot: Pilot[None]) -> None:
    """Let the loader thread finish and its message be handled."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def cell(table: DataTable[Any], row: int, column: str) -> str:
    value = table.get_cell(table.coordinate_to_cell_key(Coordinate(row, 0)).row_key, column)
    return str(getattr(value, "plain", value))


async def test_shows_unsent_mail_with_the_columns(store: Engine) -> None:
    ids = fill(store, 3)
    async with QueueApp(store).run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        table = screen_of(pilot.app).table
        labels = [str(c.label) for c in table.columns.values()]
        assert labels == [
            "#",
            "Receiver",
            "Subject",
            "Status",
            "Attempts",
            "Last attempt",
            "Next attempt",
            "MTA",
            "Last error",
        ]
        assert table.row_count == 3
        # newest first, as the core lists them
        assert cell(table, 0, "id") == str(ids[-1])
        assert cell(table, 0, "to") == "user003@example.com"
        assert cell(table, 0, "status") == "queued"
        assert cell(table, 0, "next") == "due"
        info = str(pilot.app.screen.query_one("#queue-info", Static).render())
        assert "3 messages" in info and "page" not in info  # one page: no page numbers


async def test_columns_fit_the_width_and_follow_a_resize(store: Engine) -> None:
    """Attempts, Last attempt and Receiver at every width (the web page's three
    facts); at 80 columns the last error is under the table; nothing scrolls
    sideways; a resize keeps the cursor's message."""
    fill(store, 5)
    async with QueueApp(store).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = screen_of(pilot.app).table

        def labels() -> list[str]:
            return [str(c.label) for c in table.columns.values()]

        def used() -> int:
            return sum(c.get_render_width(table) for c in table.columns.values())

        assert labels() == ["#", "Receiver", "Subject", "Status", "Attempts", "Last attempt"]
        assert used() <= 80 - 2 and table.max_scroll_x == 0
        assert table.columns[ColumnKey("to")].width >= len("user005@example.com")  # Receiver whole
        await pilot.press("down", "down")
        assert table.cursor_row == 2
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        assert labels() == ["#", "Receiver", "Subject", "Status", "Attempts", "Last attempt", "Last error"]
        assert used() <= 100 - 2 and table.max_scroll_x == 0
        assert table.columns[ColumnKey("id")].width == 2  # as wide as the largest id on the page
        await pilot.resize_terminal(140, 30)
        await settle(pilot)
        assert "Next attempt" in labels() and "MTA" in labels() and table.row_count == 5
        assert table.cursor_row == 2


async def test_live_update_changes_cells_and_keeps_the_cursor(store: Engine) -> None:
    ids = fill(store, 5)  # shown newest first: ids[4], ids[3], ids[2], ...
    async with QueueApp(store).run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = screen_of(pilot.app)
        table = screen.table
        await pilot.press("down", "down")
        assert screen.current_id() == ids[2]
        # The worker defers the top message: one cell row changes in place.
        set_fields(store, ids[4], status="deferred", attempts=1, last_error="451 4.3.0 try later")
        screen.reload()
        await settle(pilot)
        assert cell(table, 0, "status") == "deferred"
        assert cell(table, 0, "attempts") == "1"
        assert cell(table, 0, "error") == "451 4.3.0 try later"
        assert table.cursor_row == 2 and screen.current_id() == ids[2]
        # The top message is sent (leaves "unsent"), a new one arrives: the cursor
        # stays on the same message although its row index changed twice.
        set_fields(store, ids[4], status="sent")
        set_fields(store, ids[3], status="sent")
        (new,) = queue.enqueue(store, "late@example.com", "Late", "b")
        screen.reload()
        await settle(pilot)
        assert table.row_count == 4
        assert cell(table, 0, "id") == str(new)
        assert screen.current_id() == ids[2] and table.cursor_row == 1


async def test_poll_picks_up_changes_by_itself(store: Engine) -> None:
    ids = fill(store, 2)
    async with QueueApp(store, poll_seconds=0.05).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = screen_of(pilot.app).table
        set_fields(store, ids[1], status="failed", last_error="550 no such user")
        for _ in range(100):
            await pilot.pause(0.05)
            if cell(table, 0, "status") == "failed":
                break
        assert cell(table, 0, "status") == "failed"


async def test_slash_filters_by_text(store: Engine) -> None:
    fill(store, 12)
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = screen_of(pilot.app)
        await pilot.press("slash")
        await pilot.press(*"user011")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.search == "user011"
        assert screen.table.row_count == 1
        assert cell(screen.table, 0, "to") == "user011@example.com"
        assert 'Filter: text "user011"' in str(screen.query_one("#queue-filter-line", Static).render())
        assert screen.table.has_focus
        # Esc while editing cancels the edit and keeps the filter
        await pilot.press("slash", "x", "escape")
        await settle(pilot)
        assert screen.search == "user011" and pilot.app.screen is screen
        # an empty filter shows everything again
        await pilot.press("slash", *["backspace"] * 8, "enter")
        await settle(pilot)
        assert screen.search == "" and screen.table.row_count == 12


async def test_escape_drops_a_filter_before_leaving(store: Engine) -> None:
    fill(store, 12)
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = screen_of(pilot.app)
        await pilot.press("slash", *"user011", "enter")
        await settle(pilot)
        assert screen.table.row_count == 1
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert screen.search == "" and screen.table.row_count == 12
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is not screen


async def test_s_cycles_the_status_filter(store: Engine) -> None:
    ids = fill(store, 4)
    set_fields(store, ids[0], status="failed", attempts=5, last_error="550 5.1.1 unknown user")
    set_fields(store, ids[1], status="held", held_from="queued")
    set_fields(store, ids[2], status="sent")
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = screen_of(pilot.app)
        seen: dict[str, set[str]] = {}
        for _ in range(5):
            seen[screen.status] = {cell(screen.table, r, "status") for r in range(screen.table.row_count)}
            await pilot.press("s")
            await settle(pilot)
        assert screen.status == "unsent"
        assert seen == {
            "unsent": {"failed", "held", "queued"},
            "failed": {"failed"},
            "held": {"held"},
            "sent": {"sent"},
            "all": {"failed", "held", "queued", "sent"},
        }


async def test_paging_loads_one_page_at_a_time(store: Engine, monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    fill(store, 2 * PAGE_SIZE + 50)
    limits: list[int] = []
    real = queue_bulk.page

    def spy(*args: object, **kwargs: object) -> object:
        limits.append(int(kwargs["limit"]))  # type: ignore[call-overload]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(queue_bulk, "page", spy)
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = screen_of(pilot.app)
        info = screen.query_one("#queue-info", Static)
        assert screen.table.row_count == PAGE_SIZE
        assert "250 messages · page 1/3 · 1–100" in str(info.render())
        await pilot.press("right_square_bracket", "right_square_bracket")
        await settle(pilot)
        assert screen.table.row_count == 50
        assert "page 3/3 · 201–250" in str(info.render())
        assert cell(screen.table, 49, "to") == "user001@example.com"
        await pilot.press("right_square_bracket")  # no page 4
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert "page 2/3" in str(info.render()) and screen.table.row_count == PAGE_SIZE
    assert limits and max(limits) <= PAGE_SIZE


async def test_a_burst_of_reloads_costs_two_reads(store: Engine, monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    fill(store, 3)
    calls: list[int] = []
    real = queue_bulk.page

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(queue_bulk, "page", spy)
        screen = screen_of(pilot.app)
        for _ in range(50):  # as the console does on every delivery event
            screen.reload()
        await settle(pilot)
        await settle(pilot)
        assert 1 <= len(calls) <= 2
        assert screen.table.row_count == 3


async def test_a_delivery_notice_reloads_the_page(store: Engine) -> None:
    from ertui.delivery.settings import DeliveryEvent
    from ertui.tui.messages import DeliveryNotice

    ids = fill(store, 2)
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:  # no poll
        await settle(pilot)
        screen = screen_of(pilot.app)
        set_fields(store, ids[1], status="deferred", attempts=1)
        screen.post_message(DeliveryNotice(DeliveryEvent(ids[1], None, "deferred", "", FIXED_NOW)))
        await settle(pilot)
        assert cell(screen.table, 0, "status") == "deferred"


async def test_a_store_error_is_shown_not_raised(store: Engine, monkeypatch: object) -> None:
    import pytest

    from ertui.errors import StoreError

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    fill(store, 2)
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = screen_of(pilot.app)

        def broken(*_a: object, **_k: object) -> int:
            raise StoreError("The store at sqlite:///x cannot be opened: disk I/O error.")

        monkeypatch.setattr(queue_bulk, "count", broken)
        screen.reload()
        await settle(pilot)
        info = str(screen.query_one("#queue-info", Static).render())
        assert "disk I/O error" in info
        assert screen.table.row_count == 2  # what was shown stays


async def test_the_last_page_emptied_falls_back_a_page(store: Engine) -> None:
    ids = fill(store, PAGE_SIZE + 3)
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = screen_of(pilot.app)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert screen.table.row_count == 3
        queue.delete(store, ids[:3])  # the oldest three: the whole second page
        screen.reload()
        await settle(pilot)
        assert screen.page_offset == 0 and screen.table.row_count == PAGE_SIZE
        assert "page" not in str(screen.query_one("#queue-info", Static).render())


async def test_pages_are_anchored_on_ids_as_mail_arrives(store: Engine) -> None:
    """On page 2, new mail does not push rows from page 1 onto it."""
    fill(store, PAGE_SIZE + 10)
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = screen_of(pilot.app)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        before = [cell(screen.table, i, "id") for i in range(screen.table.row_count)]
        assert len(before) == 10
        fill(store, 5)  # five newer messages arrive
        screen.reload()
        await settle(pilot)
        after = [cell(screen.table, i, "id") for i in range(screen.table.row_count)]
        assert after == before
        assert "page 2/2 · 106–115" in str(screen.query_one("#queue-info", Static).render())
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert screen.table.row_count == PAGE_SIZE  # page 1 is live: the newest first
        assert int(cell(screen.table, 0, "id")) > max(int(i) for i in before) + PAGE_SIZE


async def test_a_hash_and_an_id_finds_that_message(store: Engine) -> None:
    ids = fill(store, 30)
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = screen_of(pilot.app)
        await pilot.press("slash", *f"#{ids[12]}", "enter")
        await settle(pilot)
        assert [cell(screen.table, i, "id") for i in range(screen.table.row_count)] == [str(ids[12])]
