"""The Sender dialog (`A` on Mail Settings): address, From name, Reply-To."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from textual.widgets import Input

from ertui import audit, settings
from ertui.tui.dialogs.admin import AdminDialog
from ertui.tui.screens.settings import SettingsScreen
from tests.tui.conftest import make_app
from tests.tui.helpers import static_text, type_into


async def test_sender_dialog_sets_name_and_reply_to_and_refuses_a_bad_one(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("A")
        dialog = pilot.app.screen
        assert isinstance(dialog, AdminDialog)
        assert dialog.query_one("#admin-email", Input).value == "admin@example.com"
        assert static_text(pilot.app, "#sender-preview") == "From: admin@example.com"
        await type_into(pilot, "#from-name", "Ops Team")
        await type_into(pilot, "#reply-to", "help@@example")
        assert static_text(pilot.app, "#sender-preview") == (
            "From: Ops Team <admin@example.com>   Reply-To: help@@example"
        )
        await pilot.press("enter")
        assert isinstance(pilot.app.screen, AdminDialog)  # refused, nothing written
        assert static_text(pilot.app, "#reply-to-error").startswith("Reply-To 'help@@example' is not a valid")
        assert pilot.app.screen.focused is dialog.query_one("#reply-to", Input)
        assert settings.sender_identity(store) == ("", None)
        await type_into(pilot, "#reply-to", "help@example.com")
        assert not dialog.query_one("#reply-to-error").display
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
        assert settings.sender_identity(store) == ("Ops Team", "help@example.com")
        assert settings.admin_email(store) == "admin@example.com"
        assert [e.action for e in audit.entries(store)][:2] == ["sender.reply_to", "sender.name"]
        # opened again: the stored values; emptied: back to the bare address
        await pilot.press("A")
        assert pilot.app.screen.query_one("#from-name", Input).value == "Ops Team"
        await type_into(pilot, "#from-name", "")
        await type_into(pilot, "#reply-to", "")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
        assert settings.sender_identity(store) == ("", None)


async def test_sender_dialog_refuses_a_line_break_pasted_into_the_name(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("A")
        pilot.app.screen.query_one("#from-name", Input).value = "Ops\r\nBcc: victim@example.com"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(pilot.app.screen, AdminDialog)
        assert static_text(pilot.app, "#from-name-error") == (
            "From name must not contain line breaks or NUL characters."
        )
        assert settings.sender_identity(store) == ("", None)
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, SettingsScreen)


async def test_the_test_dialog_names_the_sender(store: Engine) -> None:
    from ertui import mtas
    from ertui.tui.dialogs.test_dialog import TestDialog

    mtas.add(store, description="Relay", host="smtp.example.com")
    settings.set_from_name(store, "Ops Team")
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        assert isinstance(pilot.app.screen, TestDialog)
        assert static_text(pilot.app, "#test-sender") == (
            "It is sent from the administrator's address admin@example.com as 'Ops Team'."
        )
