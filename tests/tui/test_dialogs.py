"""Edit Host, Update Administrator Account, Help, the command palette and `:`."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from textual.widgets import Input

from ertui import mtas, settings
from ertui.tui.dialogs.admin import AdminDialog
from ertui.tui.dialogs.host import HostDialog
from ertui.tui.dialogs.mta_form import MtaForm
from ertui.tui.screens.help import HelpScreen
from ertui.tui.screens.settings import SettingsScreen
from tests.tui.conftest import HOST_NAME, make_app
from tests.tui.helpers import palette_choose, static_text, type_into, wait_for


async def test_edit_host_previews_the_link_validates_and_saves(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("h")
        assert isinstance(pilot.app.screen, HostDialog)
        assert pilot.app.screen.query_one("#host-input", Input).value == HOST_NAME
        await type_into(pilot, "#host-input", "Mail.Example.org")
        assert static_text(pilot.app, "#host-preview") == (
            "Recovery link: https://mail.example.org/reset-password?token=…"
        )
        assert not pilot.app.screen.query_one("#host-input-error").display
        await type_into(pilot, "#host-input", "mailhost")
        assert static_text(pilot.app, "#host-input-error") == (
            "Master Server Host Name must be a fully qualified domain name with two or more "
            "labels, such as mail.example.com."
        )
        await pilot.press("enter")
        assert isinstance(pilot.app.screen, HostDialog)  # not saved
        assert settings.master_host(store).is_default
        await type_into(pilot, "#host-input", "Mail.Example.org")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
        assert settings.master_host(store).name == "mail.example.org"
        assert "mail.example.org" in static_text(pilot.app, "#host-name")


async def test_one_field_dialogs_name_their_field(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        for key, label, field in (("h", "Host name", "#host-input"), ("A", "Email address", "#admin-email")):
            await pilot.press(key)
            row = pilot.app.screen.query_one(field).parent
            assert row is not None
            assert [str(w.render()) for w in row.query(".form-label")] == [label]
            await pilot.press("escape")


async def test_edit_host_escape_cancels(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("h")
        await type_into(pilot, "#host-input", "other.example.com")
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, SettingsScreen)
        assert settings.master_host(store).is_default


async def test_admin_dialog_sets_the_sender_address(engine: Engine) -> None:
    async with make_app(engine).run_test(size=(80, 24)) as pilot:
        assert "No administrator email address" in static_text(pilot.app, "#status-line")
        await pilot.press("A")
        assert isinstance(pilot.app.screen, AdminDialog)
        await type_into(pilot, "#admin-email", "ops@@example")
        await pilot.press("enter")
        assert isinstance(pilot.app.screen, AdminDialog)
        assert "is not a valid email address" in static_text(pilot.app, "#admin-email-error")
        await type_into(pilot, "#admin-email", "ops@example.com")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
        assert settings.admin_email(engine) == "ops@example.com"
        assert "No administrator email address" not in static_text(pilot.app, "#status-line")
        await pilot.press("A")
        assert pilot.app.screen.query_one("#admin-email", Input).value == "ops@example.com"
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, SettingsScreen)


async def test_help_lists_every_key_of_the_screen(store: Engine) -> None:
    mtas.add(store, description="Relay", host="smtp.example.com")
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        keys = {desc: k for k, desc, _ in pilot.app.screen.rows}
        for desc in (
            "Add MTA",
            "Edit",
            "Remove",
            "Test",
            "On/Off",
            "Details",
            "Expand",
            "Collapse",
            "Host",
            "Admin",
            "Queue",
            "Pause",
            "Help",
            "Quit",
        ):
            assert desc in keys, desc
        assert keys["Remove"] == "del"
        assert keys["Admin"] == "A"
        await pilot.press("escape")
        # help of a modal lists the modal's keys
        await pilot.press("a")
        pilot.app.screen.query_one("#ssl").focus()
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        descs = {desc for _, desc, _ in pilot.app.screen.rows}
        assert {"Test", "Ok", "Cancel"} <= descs
        assert "Add MTA" not in descs
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, MtaForm)


async def test_help_at_80_columns_cuts_nothing_and_quit_is_one_row(store: Engine) -> None:
    from textual.geometry import Region

    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        quits = [(keys, tip) for keys, desc, tip in help_screen.rows if desc == "Quit"]
        assert quits == [("q / ^q", "Quit the console (the worker finishes what it sends)")]
        table = help_screen.query_one("#help-table")
        shown = "\n".join(strip.text for strip in table.render_lines(Region(0, 0, table.size.width, table.size.height)))
        assert "…" not in shown
        words = set(shown.split())
        for _, _, tip in help_screen.rows:
            assert set(tip.split()) <= words, tip


async def test_help_of_a_form_with_a_field_focused_keeps_its_columns(store: Engine) -> None:
    """An Input brings long key names ("Move cursor right or accept the completion
    suggestion"): they wrap in their column and leave the explanations their room."""
    from textual.geometry import Region

    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a", "f1")
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        table = help_screen.query_one("#help-table")
        shown = "\n".join(strip.text for strip in table.render_lines(Region(0, 0, table.size.width, table.size.height)))
        assert "What it does" in shown.splitlines()[0]
        box = help_screen.query_one("#help-box")
        assert str(box.border_title) == "Keys — Add New MTA"  # not the class name
        descs = [desc for _, desc, _ in help_screen.rows]
        assert descs.index("Ok") < descs.index("Next field")  # the form's own keys first
        assert "Check and save the MTA" in shown
        assert "Move to the next field or button" in shown


async def test_palette_offers_actions_by_name(store: Engine) -> None:
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await palette_choose(pilot, "colon", "add mta", "Add MTA")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, MtaForm))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen))
        await palette_choose(pilot, "ctrl+p", "sender", "Admin")  # by what it does
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, AdminDialog))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen))
        await palette_choose(pilot, "colon", "administrator", "Admin")  # the web page's word for it
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, AdminDialog))


async def test_palette_of_a_form_offers_its_actions_not_focus_moves(store: Engine) -> None:
    from ertui.tui.commands import screen_commands

    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        assert isinstance(pilot.app.screen, MtaForm)
        names = [c.name for c in screen_commands(pilot.app.screen)]
        assert {"Test", "Ok", "Cancel", "Help"} <= set(names)
        assert "Next field" not in names and "Previous field" not in names
        await pilot.press("f1")  # help still lists every key, Tab included
        descs = [desc for _, desc, _ in pilot.app.screen.rows]  # type: ignore[attr-defined]
        assert "Next field" in descs
