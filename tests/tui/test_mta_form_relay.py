"""The form's Enabled switch and Advanced section round-trip: form → store →
`mta list --json` → form, XOAUTH2 fields in place of the Password."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner
from sqlalchemy.engine import Engine
from textual.pilot import Pilot
from textual.widgets import Collapsible, Input, Select, Switch

from ertui.cli import cli
from ertui.store.vault import Vault
from ertui.tui.dialogs.mta_form import MtaForm
from ertui.tui.screens.settings import SettingsScreen
from tests.tui.conftest import make_app
from tests.tui.helpers import type_into

SECRET = "client-Secret-42"


async def toggle(pilot: Pilot[Any], switch_id: str) -> None:
    pilot.app.screen.query_one(f"#{switch_id}", Switch).focus()
    await pilot.press("space")
    await pilot.pause()


def listed(db_url: str) -> list[dict[str, Any]]:
    res = CliRunner().invoke(cli, ["--db", db_url, "mta", "list", "--json"], catch_exceptions=False)
    assert res.exit_code == 0
    return json.loads(res.stdout)  # type: ignore[no-any-return]


async def test_every_advanced_field_round_trips(store: Engine, db_url: str) -> None:
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("a")
        screen: Any = pilot.app.screen
        assert isinstance(screen, MtaForm)
        await type_into(pilot, "#description", "M365")
        await type_into(pilot, "#host", "smtp.office365.com")
        await toggle(pilot, "starttls")
        await toggle(pilot, "use_auth")
        await type_into(pilot, "#username", "ops@example.com")
        await toggle(pilot, "enabled")  # added disabled
        screen.query_one("#advanced", Collapsible).collapsed = False
        await pilot.pause()
        assert not screen.query_one("#oauth-fields").display and screen.query_one("#password-row").display
        screen.query_one("#auth_mechanism", Select).value = "xoauth2"
        await pilot.pause()
        assert screen.query_one("#oauth-fields").display and not screen.query_one("#password-row").display
        assert screen.query_one("#oauth_scope", Input).value == "https://outlook.office365.com/.default"
        await type_into(pilot, "#timeout", "45")
        await type_into(pilot, "#rate_limit", "30")
        await type_into(pilot, "#ehlo_name", "out.example.org")
        await toggle(pilot, "pipelining")
        await type_into(pilot, "#oauth_token_url", "https://login.example.com/t/oauth2/v2.0/token")
        await type_into(pilot, "#oauth_client_id", "app-1")
        await type_into(pilot, "#oauth_secret", SECRET)
        assert screen.query_one("#oauth_secret", Input).password  # masked
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)

        (row,) = listed(db_url)
        assert {k: row[k] for k in ("enabled", "timeout", "rate_limit_per_minute", "ehlo_name")} == {
            "enabled": False,
            "timeout": 45.0,
            "rate_limit_per_minute": 30,
            "ehlo_name": "out.example.org",
        }
        assert (row["auth_mechanism"], row["pipelining"], row["oauth_client_id"]) == ("xoauth2", False, "app-1")
        assert row["oauth_token_url"] == "https://login.example.com/t/oauth2/v2.0/token"
        assert row["oauth_scope"] == "https://outlook.office365.com/.default"
        assert SECRET not in json.dumps(row)

        await pilot.press("e")
        screen = pilot.app.screen
        assert isinstance(screen, MtaForm)
        assert not screen.query_one("#advanced", Collapsible).collapsed  # values differ from the defaults
        assert screen.query_one("#enabled", Switch).value is False
        assert screen.query_one("#timeout", Input).value == "45"
        assert screen.query_one("#rate_limit", Input).value == "30"
        assert screen.query_one("#ehlo_name", Input).value == "out.example.org"
        assert screen.query_one("#auth_mechanism", Select).value == "xoauth2"
        assert screen.query_one("#pipelining", Switch).value is False
        assert screen.query_one("#oauth_client_id", Input).value == "app-1"
        secret = screen.query_one("#oauth_secret", Input)
        assert secret.value == "" and "stored" in secret.placeholder
        assert not screen.query_one("#password-row").display
        await pilot.press("ctrl+s")  # saved as it is: nothing changes, the secret is kept
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
        assert listed(db_url) == [row]

    from ertui import mtas

    enc = mtas.get(store, "M365").oauth_secret_enc
    assert enc and Vault.load().decrypt(enc) == SECRET


async def test_a_bad_advanced_value_opens_the_section_with_the_sentence(store: Engine) -> None:
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("a")
        screen = pilot.app.screen
        await type_into(pilot, "#description", "Relay")
        await type_into(pilot, "#host", "smtp.example.com")
        screen.query_one("#advanced", Collapsible).collapsed = False
        await pilot.pause()
        await type_into(pilot, "#timeout", "500")
        screen.query_one("#advanced", Collapsible).collapsed = True
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(pilot.app.screen, MtaForm)
        assert not screen.query_one("#advanced", Collapsible).collapsed
        assert str(screen.query_one("#timeout-error").render()) == "Timeout must be a number of seconds from 1 to 300."
        assert screen.focused is screen.query_one("#timeout")
