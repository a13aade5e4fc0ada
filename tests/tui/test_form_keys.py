"""The Add/Edit MTA form as a new operator types it (issue 11 items 2, 3, 8 and
issue 10 item 10): the focus stays where the operator put it, a Unicode digit
is not a number, fields refuse what they cannot hold, empty Port and Max. take
their defaults, and AUTH without TLS is flagged before it is saved."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from textual.widgets import Input, Switch

from ertui import mtas
from ertui.mta_rules import DEFAULT_MAX_CONNECTIONS
from ertui.tui.dialogs.mta_form import CLEAR_TEXT_WARNING, MtaForm
from ertui.tui.screens.settings import SettingsScreen
from tests.tui.conftest import make_app
from tests.tui.helpers import type_into


async def test_a_unicode_digit_in_the_port_then_a_switch_does_not_crash(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        screen = pilot.app.screen
        port = screen.query_one("#port", Input)
        for text in ("²", "2²", "٣", "𝟓"):  # pasted, or set before the field refused them
            port.value = text
            screen.query_one("#ssl", Switch).focus()
            await pilot.press("space")
            await pilot.pause()
            assert port.value == text  # not a port: left alone, no ValueError
            await pilot.press("space")
        assert pilot.app._exception is None


async def test_number_fields_refuse_other_characters_as_typed(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await type_into(pilot, "#port", "2²5x25999")
        assert pilot.app.screen.query_one("#port", Input).value == "25259"  # digits, 5 at most
        await type_into(pilot, "#max", "1234")
        assert pilot.app.screen.query_one("#max", Input).value == "123"
        await type_into(pilot, "#description", "d" * 120)
        assert len(pilot.app.screen.query_one("#description", Input).value) == 100


async def test_auth_switch_keeps_the_focus_and_tab_reaches_username_then_password(store: Engine) -> None:
    """Space on the switch, Tab, user, Tab, password: nothing lands in a visible field
    it was not meant for (the password went into Max. in clear text)."""
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        screen = pilot.app.screen
        await type_into(pilot, "#description", "Relay")
        await type_into(pilot, "#host", "smtp.example.com")
        screen.query_one("#use_auth", Switch).focus()
        await pilot.press("space")
        await pilot.pause()
        await pilot.pause()
        assert screen.focused is screen.query_one("#use_auth")
        await pilot.press("tab", *"alice", "tab", *"s3cret", "tab")
        assert screen.query_one("#username", Input).value == "alice"
        assert screen.query_one("#password", Input).value == "s3cret"
        assert screen.query_one("#max", Input).value == str(DEFAULT_MAX_CONNECTIONS)
        assert screen.focused is screen.query_one("#max")


async def test_empty_max_connections_takes_its_default_like_an_empty_port(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await type_into(pilot, "#description", "Relay")
        await type_into(pilot, "#host", "smtp.example.com")
        await type_into(pilot, "#port", "")
        await type_into(pilot, "#max", "")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
    (mta,) = mtas.list_mtas(store)
    assert (mta.port, mta.max_connections) == (25, DEFAULT_MAX_CONNECTIONS)


async def test_enter_on_the_last_field_saves(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await type_into(pilot, "#description", "Relay")
        await type_into(pilot, "#host", "smtp.example.com")
        pilot.app.screen.query_one("#verify_tls", Switch).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
    (mta,) = mtas.list_mtas(store)
    assert mta.verify_tls is True  # Enter saved; it did not toggle the switch


async def test_auth_without_tls_is_flagged_inline(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        screen = pilot.app.screen
        assert isinstance(screen, MtaForm)
        warning = screen.query_one("#auth-warning")
        assert not warning.display
        screen.query_one("#use_auth", Switch).focus()
        await pilot.press("space")
        await pilot.pause()
        assert warning.display
        assert "clear text" in CLEAR_TEXT_WARNING
        screen.query_one("#starttls", Switch).focus()
        await pilot.press("space")
        await pilot.pause()
        assert not warning.display  # STARTTLS: the password is encrypted
        await pilot.press("space")
        screen.query_one("#ssl", Switch).focus()
        await pilot.press("space")
        await pilot.pause()
        assert not warning.display
        await pilot.press("space")
        await pilot.pause()
        assert warning.display


async def test_every_field_refuses_characters_beyond_its_maximum(store: Engine) -> None:
    """The one-field dialogs, the Test's address and the queue filter too."""
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        for key, field, most in (("h", "#host-input", 253), ("A", "#admin-email", 254)):
            await pilot.press(key)
            await type_into(pilot, field, "x" * (most + 20))
            assert len(pilot.app.screen.query_one(field, Input).value) == most
            await pilot.press("escape")
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("slash")
        await type_into(pilot, "#queue-filter", "y" * 250)
        assert len(pilot.app.screen.query_one("#queue-filter", Input).value) == 200
