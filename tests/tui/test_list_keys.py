"""Keys that help lists do something (issue 11 item 7): Home/End and g/G go to the
first and last row, j/k move; q leaves the Mail Queue; help lists only keys that
work there; the footer offers only what applies now."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from textual.widgets._footer import FooterKey

from ertui import mtas
from ertui.tui.screens.help import HelpScreen
from ertui.tui.screens.queue import QueueScreen
from ertui.tui.screens.settings import SettingsScreen
from ertui.tui.widgets.mta_table import MtaTable
from tests.tui.conftest import make_app
from tests.tui.queue.conftest import fill


def _footer(app: object) -> list[str]:
    from textual.app import App

    assert isinstance(app, App)
    return [str(k.description) for k in app.screen.query(FooterKey) if k.display]


async def test_home_end_g_g_j_k_move_in_the_mta_list(store: Engine) -> None:
    for n in range(1, 6):
        mtas.add(store, description=f"Relay {n}", host=f"relay{n}.example.com", enabled=False)
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        table = pilot.app.screen.query_one(MtaTable)
        await pilot.press("end")
        assert table.cursor_row == 4
        await pilot.press("enter")  # expands the last MTA, not the first
        screen = pilot.app.screen
        assert isinstance(screen, SettingsScreen)
        assert screen.expanded == mtas.list_mtas(store)[4].id
        await pilot.press("home")
        assert table.cursor_row == 0
        await pilot.press("G")
        assert table.cursor_row == 4
        await pilot.press("g", "j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1


async def test_the_footer_offers_no_mta_action_on_an_empty_list(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = _footer(pilot.app)
        assert "Add MTA" in shown
        for absent in ("Edit", "Remove", "Test", "On/Off"):
            assert absent not in shown
        mtas.add(store, description="Relay", host="relay.example.com", enabled=False)
        screen = pilot.app.screen
        assert isinstance(screen, SettingsScreen)
        screen.reload()
        await pilot.pause()
        shown = _footer(pilot.app)
        for present in ("Edit", "Remove", "Test", "On/Off"):
            assert present in shown


async def test_help_lists_only_keys_that_work_here(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        actions = {desc for _, desc, _ in pilot.app.screen.rows}
        for generic in ("Page left", "Page Left", "Copy selected text", "Top", "Bottom", "Home", "End"):
            assert generic not in actions
        assert "Edit" not in actions  # no MTA: e does nothing here
        assert {"Add MTA", "First row", "Last row"} <= actions


async def test_q_leaves_the_mail_queue_and_its_footer_fits(store: Engine) -> None:
    fill(store, 120)  # two pages
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("m")
        await pilot.pause(0.3)
        assert isinstance(pilot.app.screen, QueueScreen)
        shown = _footer(pilot.app)
        assert "Pages" in shown  # two pages: [ and ] are offered
        for key in pilot.app.screen.query(FooterKey):
            if key.display:
                assert key.region.right <= 80, key.description
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
