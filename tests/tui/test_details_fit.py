"""With many MTAs the expanded details stay readable whole (issue 11 item 9), and
a cut cell shows "…" while Description keeps its full width first (item 6)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from ertui import mtas
from ertui.tui.widgets.mta_detail import MtaDetail
from ertui.tui.widgets.mta_table import MtaTable
from tests.tui.conftest import make_app
from tests.tui.helpers import table_rows


def _fourteen(store: Engine) -> None:
    for n in range(1, 15):
        mtas.add(store, description=f"Relay number {n}", host=f"relay{n}.corp.example.com", enabled=False)
    mtas.record_failure(store, 14, "refused: Connection refused by relay14.corp.example.com:25 " * 2)


async def test_the_details_of_the_last_of_14_mtas_are_whole_at_80x24(store: Engine) -> None:
    _fourteen(store)
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("G", "enter")
        await pilot.pause()
        await pilot.pause()
        screen = pilot.app.screen
        detail = screen.query_one(MtaDetail)
        assert detail.display
        section = screen.query_one("#mta-section").region
        assert section.contains_region(detail.region)
        for part in ("#detail-text", "#detail-spark-row"):  # every line, the sparkline last
            region = screen.query_one(part).region
            assert region.height >= 1 and detail.region.contains_region(region), part
        text = screen.query_one("#detail-text")
        assert text.region.height >= text.virtual_size.height  # nothing clipped
        table = screen.query_one(MtaTable)
        visible_rows = range(int(table.scroll_y), int(table.scroll_y) + table.scrollable_content_region.height - 1)
        assert table.cursor_row == 13 and table.cursor_row in visible_rows


async def test_cut_cells_show_an_ellipsis_and_descriptions_stay_whole(store: Engine) -> None:
    _fourteen(store)
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert [row[1] for row in table_rows(pilot.app)] == [f"Relay number {n}" for n in range(1, 15)]
        table = pilot.app.screen.query_one(MtaTable)
        lines = [line.text for line in table.render_lines(table.region.reset_offset)[1:]]
        assert "Relay number 10 " in lines[9] and "Relay number 1 " in lines[0]  # whole, not "Relay number 1"
        assert "relay10.cor…" in lines[9]  # the host name is cut, visibly
