"""Add New MTA / Edit MTA: field order, the port rule as switches toggle, auth fields,
inline validation with the core's sentences, save, and the stored password on edit."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from textual.widgets import Collapsible, Input, Label, Switch

from ertui import mtas
from ertui.mta_rules import Security
from ertui.store.vault import Vault
from ertui.tui.dialogs.confirm import ConfirmDialog
from ertui.tui.dialogs.mta_form import MtaForm
from ertui.tui.screens.settings import SettingsScreen
from tests.tui.conftest import make_app
from tests.tui.helpers import table_rows, type_into


def _port(app: object) -> str:
    from textual.app import App

    assert isinstance(app, App)
    return str(app.screen.query_one("#port", Input).value)


async def _toggle(pilot: object, switch_id: str) -> None:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    pilot.app.screen.query_one(f"#{switch_id}", Switch).focus()
    await pilot.press("space")
    await pilot.pause()


async def test_fields_are_in_the_web_console_order(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        assert isinstance(pilot.app.screen, MtaForm)
        labels = [str(lbl.render()) for lbl in pilot.app.screen.query(".form-label").results(Label)]
        assert labels == [
            "Description",
            "Host Name",
            "Host Port",
            "Enable SSL",
            "Enable STARTTLS",
            "Use User/Pass Authorization",
            "Username",
            "Password",
            "Max. Concurrent Connections",
            "Verify TLS certificate",
            # below the web page's fields: Enabled, then the Advanced section
            "Enabled",
            "Timeout (seconds)",
            "Rate limit (per minute)",
            "EHLO name",
            "Auth mechanism",
            "Pipelining",
            "Token URL",
            "Client ID",
            "Client secret",
            "Scope",
        ]
        assert pilot.app.screen.query_one("#advanced", Collapsible).collapsed  # a new MTA: all defaults
        assert pilot.app.screen.query_one("#enabled", Switch).value
        assert pilot.app.screen.focused is pilot.app.screen.query_one("#description")
        assert not pilot.app.screen.query_one("#auth-fields").display
        assert pilot.app.screen.query_one("#password", Input).password


async def test_switches_exclude_each_other_and_set_the_port(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        app = pilot.app
        assert _port(app) == "25"
        await _toggle(pilot, "starttls")
        assert _port(app) == "587"
        await _toggle(pilot, "ssl")
        assert _port(app) == "465"
        assert app.screen.query_one("#starttls", Switch).value is False
        await _toggle(pilot, "ssl")
        assert _port(app) == "25"
        await type_into(pilot, "#port", "2525")
        await _toggle(pilot, "starttls")
        assert _port(app) == "2525"  # a typed port is kept
        await _toggle(pilot, "ssl")
        assert _port(app) == "2525"
        assert app.screen.query_one("#starttls", Switch).value is False


async def test_add_through_the_form_saves_and_lists_it(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await type_into(pilot, "#description", "Relay")
        await type_into(pilot, "#host", "smtp.example.com")
        await _toggle(pilot, "starttls")
        await _toggle(pilot, "use_auth")
        assert pilot.app.screen.query_one("#auth-fields").display
        await type_into(pilot, "#username", "alice")
        await type_into(pilot, "#password", "pa ss[w]ord")
        await type_into(pilot, "#max", "3")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
        (mta,) = mtas.list_mtas(store)
        assert (mta.description, mta.host, mta.port, mta.security) == ("Relay", "smtp.example.com", 587, "starttls")
        assert (mta.use_auth, mta.username, mta.max_connections) == (True, "alice", 3)
        assert mta.password_enc and "pa ss" not in mta.password_enc
        assert Vault.load().decrypt(mta.password_enc) == "pa ss[w]ord"
        assert table_rows(pilot.app)[0][:3] == ["◀ smtp.example.com", "Relay", "587"]


async def test_each_field_shows_the_core_sentence(store: Engine) -> None:
    mtas.add(store, description="Taken", host="smtp.example.com")
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        screen = pilot.app.screen
        await type_into(pilot, "#host", "smtp://mail.example.com")
        await pilot.press("tab")  # leaving the field checks it
        assert str(screen.query_one("#host-error").render()) == ("Host Name must not include a scheme such as smtp://.")
        await type_into(pilot, "#host", "mail.example.com")
        assert not screen.query_one("#host-error").display  # fixed: the sentence goes
        await type_into(pilot, "#port", "99999")
        await type_into(pilot, "#max", "0")
        await pilot.press("ctrl+s")
        assert isinstance(pilot.app.screen, MtaForm)
        assert str(screen.query_one("#description-error").render()) == "Description is required."
        assert str(screen.query_one("#port-error").render()) == ("Host Port must be a whole number from 1 to 65535.")
        assert str(screen.query_one("#max-error").render()) == (
            "Max. Concurrent Connections must be a whole number from 1 to 100."
        )
        await type_into(pilot, "#description", "taken")
        await type_into(pilot, "#port", "25")
        await type_into(pilot, "#max", "5")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(pilot.app.screen, MtaForm)
        assert "'taken' is already used by another MTA" in str(screen.query_one("#description-error").render())
        await _toggle(pilot, "use_auth")
        await type_into(pilot, "#description", "Second")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert str(screen.query_one("#username-error").render()) == "Username is required."
        await type_into(pilot, "#username", "bob")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert str(screen.query_one("#password-error").render()) == (
            "Password is required when User/Pass Authorization is on."
        )
        assert len(mtas.list_mtas(store)) == 1  # nothing written on bad input


async def test_escape_asks_before_discarding_what_was_typed(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await type_into(pilot, "#description", "Relay")
        await type_into(pilot, "#host", "smtp.example.com")
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, ConfirmDialog)
        assert "Discard changes?" in str(pilot.app.screen.query_one("#confirm-question").render())
        await pilot.press("n")  # keep working: nothing lost
        assert isinstance(pilot.app.screen, MtaForm)
        assert pilot.app.screen.query_one("#host", Input).value == "smtp.example.com"
        await pilot.press("escape", "y")
        assert isinstance(pilot.app.screen, SettingsScreen)
        assert mtas.list_mtas(store) == []


async def test_escape_on_an_untouched_form_closes_at_once(store: Engine) -> None:
    mtas.add(store, description="Relay", host="smtp.example.com")
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        for key in ("a", "e"):
            await pilot.press(key)
            assert isinstance(pilot.app.screen, MtaForm)
            await pilot.press("escape")
            assert isinstance(pilot.app.screen, SettingsScreen)


async def test_edit_keeps_the_stored_password_when_left_empty(store: Engine) -> None:
    mtas.add(
        store,
        description="Relay",
        host="smtp.example.com",
        security=Security.SSL,
        username="alice",
        password="first-secret",
    )
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("e")
        screen = pilot.app.screen
        assert isinstance(screen, MtaForm)
        assert screen.query_one("#form-box").border_title == "Edit MTA"
        assert screen.query_one("#description", Input).value == "Relay"
        assert _port(pilot.app) == "465"
        assert screen.query_one("#ssl", Switch).value is True
        password = screen.query_one("#password", Input)
        assert password.value == "" and password.password and "stored" in password.placeholder
        await type_into(pilot, "#host", "smtp2.example.com")
        await _toggle(pilot, "starttls")
        assert _port(pilot.app) == "587"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
        mta = mtas.get(store, 1)
        assert (mta.host, mta.port, mta.security) == ("smtp2.example.com", 587, "starttls")
        assert mta.password_enc and Vault.load().decrypt(mta.password_enc) == "first-secret"
        # typing a new one replaces it
        await pilot.press("e")
        await type_into(pilot, "#password", "second-secret")
        await pilot.press("ctrl+s")
        await pilot.pause()
        mta = mtas.get(store, 1)
        assert mta.password_enc and Vault.load().decrypt(mta.password_enc) == "second-secret"
        # turning auth off forgets the credentials
        await pilot.press("e")
        await _toggle(pilot, "use_auth")
        await pilot.press("ctrl+s")
        await pilot.pause()
        mta = mtas.get(store, 1)
        assert (mta.use_auth, mta.username, mta.password_enc) == (False, None, None)


async def test_enter_moves_to_the_next_field_and_saves_on_the_last(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.press(*"Relay", "enter")
        assert pilot.app.screen.focused is pilot.app.screen.query_one("#host")
        await pilot.press(*"mx.example.com")
        pilot.app.screen.query_one("#max", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
        assert mtas.get(store, "Relay").host == "mx.example.com"


async def test_a_switch_turned_off_by_the_other_says_off(store: Engine) -> None:
    """SSL on turns STARTTLS off: the "on"/"off" next to STARTTLS follows it."""
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        screen = pilot.app.screen
        await _toggle(pilot, "starttls")
        assert str(screen.query_one("#starttls-state", Label).render()) == "on"
        await _toggle(pilot, "ssl")
        assert screen.query_one("#starttls", Switch).value is False
        assert str(screen.query_one("#starttls-state", Label).render()) == "off"
        assert str(screen.query_one("#ssl-state", Label).render()) == "on"
        await _toggle(pilot, "starttls")
        assert str(screen.query_one("#ssl-state", Label).render()) == "off"
        assert str(screen.query_one("#starttls-state", Label).render()) == "on"


async def test_keys_typed_ahead_land_in_the_field_tab_moved_to(store: Engine) -> None:
    """Over SSH a burst of keys arrives at once: "Relay<Tab>mx…" must not all go
    into Description (Tab has to move the focus before the next key is handed on)."""
    from textual import events

    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        for ch in "Relay\tmx.example.com\t\t\t":
            key = "tab" if ch == "\t" else ch
            pilot.app.post_message(events.Key(key, ch))
        await pilot.pause()
        await pilot.pause()
        screen = pilot.app.screen
        assert screen.query_one("#description", Input).value == "Relay"
        assert screen.query_one("#host", Input).value == "mx.example.com"
        assert screen.focused is screen.query_one("#starttls")


async def test_ok_with_a_bad_field_puts_the_cursor_in_it(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await type_into(pilot, "#description", "Relay")
        pilot.app.screen.query_one("#verify_tls", Switch).focus()
        await pilot.press("ctrl+s")
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, MtaForm)
        assert screen.query_one("#host-error").display
        assert screen.focused is screen.query_one("#host")  # where the fix is typed


async def test_enter_typed_ahead_moves_on_before_the_next_key(store: Engine) -> None:
    """Enter moves to the next field; in a burst of keys the ones after it go there."""
    from textual import events

    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        for ch in "Relay\rmx.example.com\r2525":
            key = "enter" if ch == "\r" else ch
            pilot.app.post_message(events.Key(key, ch))
        await pilot.pause()
        await pilot.pause()
        screen = pilot.app.screen
        assert screen.query_one("#description", Input).value == "Relay"
        assert screen.query_one("#host", Input).value == "mx.example.com"
        assert screen.focused is screen.query_one("#port")
        screen.query_one("#ssl", Switch).focus()
        await pilot.press("enter")  # a switch still toggles
        assert screen.query_one("#ssl", Switch).value is True
        assert screen.query_one("#port", Input).value == "2525"  # typed: kept
        screen.query_one("#cancel").focus()
        await pilot.press("enter")  # a button still presses: Cancel, which asks first
        await pilot.pause()
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await pilot.press("y")
        assert isinstance(pilot.app.screen, SettingsScreen)


async def test_clicking_a_switch_label_toggles_it(store: Engine) -> None:
    """As a checkbox's label on the web page: the words are a bigger target than the switch."""
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        screen = pilot.app.screen
        label = screen.query_one("#starttls").parent.query_one(".form-label")  # type: ignore[union-attr]
        await pilot.click(label)
        await pilot.pause()
        assert screen.query_one("#starttls", Switch).value is True
        assert _port(pilot.app) == "587"
        await pilot.click("#starttls-state")  # the "on" next to it too
        await pilot.pause()
        assert screen.query_one("#starttls", Switch).value is False
        assert _port(pilot.app) == "25"
        await pilot.click(screen.query_one("#host").parent.query_one(".form-label"))  # type: ignore[union-attr]
        await pilot.pause()
        assert screen.focused is screen.query_one("#host")  # a field's label focuses it
        await pilot.click("#ssl")  # the switch itself: toggled once, not twice
        await pilot.pause()
        assert screen.query_one("#ssl", Switch).value is True
