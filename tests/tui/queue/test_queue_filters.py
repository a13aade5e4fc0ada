"""The Mail Queue's filters (domain, MTA, status, text) and the Queue shape's Enter
on an MTA row: the page lists exactly what R/H/D then act on (the core's
``queue_bulk`` filter, the one the CLI's bulk actions use)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from textual.app import App
from textual.widgets import DataTable, Static

from ertui import mtas, queue
from ertui.errors import ValidationError
from ertui.tui.dialogs.confirm import ConfirmDialog
from ertui.tui.screens.queue import QueueScreen
from ertui.tui.screens.queue_filter import ViewFilter, parse
from ertui.tui.screens.shape import ShapeScreen
from tests.tui.helpers import wait_for
from tests.tui.queue.conftest import QueueApp, set_fields
from tests.tui.queue.test_queue_screen import cell, settle


def queue_screen(app: App[Any]) -> QueueScreen:
    assert isinstance(app.screen, QueueScreen)
    return app.screen


def listed(screen: QueueScreen) -> set[int]:
    return {int(cell(screen.table, i, "id")) for i in range(screen.table.row_count)}


def filter_line(screen: QueueScreen) -> str:
    line = screen.query_one("#queue-filter-line", Static)
    return str(line.render()) if line.display else ""


def two_relays(store: Engine) -> tuple[list[int], list[int], list[int]]:
    """Deferred mail last tried on "Relay A" (3), on "Relay B" (2), and never tried (1)."""
    a = mtas.add(store, description="Relay A", host="a.example.com", port=25, enabled=False)
    b = mtas.add(store, description="Relay B", host="b.example.com", port=25, enabled=False)
    ids = queue.enqueue(
        store,
        ["x1@one.example", "x2@two.example", "x3@one.example", "y1@one.example", "y2@two.example", "new@one.example"],
        "Report",
        "Body",
    )
    for mid in ids[:3]:
        set_fields(store, mid, status="deferred", attempts=1, last_mta_id=a.id)
    for mid in ids[3:5]:
        set_fields(store, mid, status="deferred", attempts=1, last_mta_id=b.id)
    return ids[:3], ids[3:5], ids[5:]


async def test_shape_by_mta_enter_opens_the_queue_on_that_mta_and_h_holds_exactly_it(store: Engine) -> None:
    on_a, on_b, untried = two_relays(store)
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        queue_scr = queue_screen(pilot.app)
        assert listed(queue_scr) == {*on_a, *on_b, *untried}
        await pilot.press("Q")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ShapeScreen))
        shape = pilot.app.screen
        assert isinstance(shape, ShapeScreen)
        await pilot.press("b")  # by the MTA last tried
        table = shape.query_one(DataTable)
        await wait_for(pilot, lambda: shape.keys[1:] == ["Relay A", "Relay B", "(none yet)"])
        await pilot.press("down", "enter")  # the row of Relay A
        await wait_for(pilot, lambda: pilot.app.screen is queue_scr)
        await settle(pilot)
        assert queue_scr.view == ViewFilter(status="unsent", mta="Relay A")
        assert listed(queue_scr) == set(on_a)
        assert "Filter: mta=Relay A" in filter_line(queue_scr) and "Esc" in filter_line(queue_scr)
        assert table.row_count == 4  # TOTAL and the three rows, still there under the queue
        await pilot.press("H")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog))
        dialog = pilot.app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "Hold 3 message(s) matching status unsent, MTA Relay A?" in dialog.question
        await pilot.press("y")
        await wait_for(pilot, lambda: queue.count_messages(store, status="held") == 3, tries=500)
    statuses = {mid: queue.get_message(store, mid).status for mid in (*on_a, *on_b, *untried)}
    assert {mid for mid, st in statuses.items() if st == "held"} == set(on_a)
    assert [statuses[mid] for mid in on_b] == ["deferred", "deferred"] and statuses[untried[0]] == "queued"


async def test_shape_total_and_untried_rows_open_the_status_alone(store: Engine) -> None:
    two_relays(store)
    opened: list[ViewFilter] = []

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ShapeScreen(store, opened.append, by="mta", refresh_seconds=60))

    async with Host().run_test(size=(100, 30)) as pilot:
        shape = pilot.app.screen
        assert isinstance(shape, ShapeScreen)
        await wait_for(pilot, lambda: len(shape.keys) == 4)
        await pilot.press("s", "enter")  # deferred; the TOTAL row
        await pilot.press("end")
        await wait_for(pilot, lambda: shape.status == "deferred")
        await pilot.press("enter")  # "(none yet)": no filter can name it
    assert opened[0] == ViewFilter(status="deferred")
    assert opened[-1] == ViewFilter(status="deferred")


async def test_slash_takes_domain_mta_and_text_and_d_deletes_exactly_the_listed(store: Engine) -> None:
    on_a, on_b, untried = two_relays(store)
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = queue_screen(pilot.app)
        await pilot.press("slash", *'domain:ONE.example mta:"relay a" x', "enter")
        await settle(pilot)
        assert screen.view == ViewFilter(status="unsent", domain="one.example", mta="relay a", search="x")
        assert listed(screen) == {on_a[0], on_a[2]}  # x1@one and x3@one, last tried on Relay A
        assert 'Filter: domain=one.example · mta=relay a · text "x"' in filter_line(screen)
        await pilot.press("slash")  # the filter comes back as it is typed, to edit
        assert screen.query_one("#queue-filter").value == "domain:one.example mta:'relay a' x"  # type: ignore[attr-defined]
        await pilot.press("escape", "D")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog))
        dialog = pilot.app.screen
        assert isinstance(dialog, ConfirmDialog) and dialog.question.startswith("Delete 2 message(s) matching")
        await pilot.press("y")
        await wait_for(pilot, lambda: queue.count_messages(store, status="all") == 4, tries=500)
        await settle(pilot)
        assert screen.table.row_count == 0
        await pilot.press("escape")  # clears domain, MTA and text at once; the screen stays
        await settle(pilot)
        assert pilot.app.screen is screen and screen.view == ViewFilter(status="unsent")
        assert filter_line(screen) == "" and listed(screen) == {on_a[1], *on_b, *untried}


async def test_a_filter_by_id_lists_and_holds_that_message_only(store: Engine) -> None:
    ids = queue.enqueue(store, ["a@x.example", "b@x.example", "c@x.example"], "Report", "Body")
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = queue_screen(pilot.app)
        await pilot.press("slash", *f"#{ids[1]}", "enter")
        await settle(pilot)
        assert listed(screen) == {ids[1]}
        await pilot.press("H")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: queue.count_messages(store, status="held") == 1, tries=500)
    assert [queue.get_message(store, i).status for i in ids] == ["queued", "held", "queued"]


async def test_a_status_from_the_shape_cycles_on(store: Engine) -> None:
    async with QueueApp(store).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = queue_screen(pilot.app)
        screen.apply_filter(ViewFilter(status="deferred", domain="x.example"))
        await settle(pilot)
        assert " Deferred" in str(screen.query_one("#queue-info", Static).render())
        await pilot.press("s")
        await settle(pilot)
        assert screen.view == ViewFilter(status="unsent", domain="x.example")  # the filter stays


def test_parse_refuses_what_the_core_refuses() -> None:
    with pytest.raises(ValidationError, match="--domain must be 1 to 255 printable characters"):
        parse("domain:a\x07b", "unsent")
    assert parse("domain:@Big.Example it's", "all") == ViewFilter(status="all", domain="big.example", search="it's")
    assert parse("mta: words", "unsent") == ViewFilter(search="mta: words")  # "mta:" with nothing: plain text
