"""Test Email Settings against real aiosmtpd servers: success, each failure display,
cancel, the address check, and a test of unsaved form values."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from textual.pilot import Pilot
from textual.widgets import Input

from ertui import mtas
from ertui.mta_rules import Security
from ertui.smtp.outcome import ACCEPTED
from ertui.tui.dialogs.mta_form import MtaForm
from ertui.tui.dialogs.test_dialog import TestDialog
from ertui.tui.screens.settings import SettingsScreen
from tests.smtpd import RawServer, SmtpServer, closed_port, silent
from tests.tui.conftest import make_app
from tests.tui.helpers import static_text, table_rows, type_into, wait_for


async def _run(pilot: Pilot[Any]) -> tuple[str, str]:
    """Send from the open dialog (Enter in the field) and wait for the outcome."""
    assert isinstance(pilot.app.screen, TestDialog)
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    result = static_text(pilot.app, "#test-result")
    transcript = str(pilot.app.screen.query_one("#transcript").render())
    return result, transcript


async def test_starttls_success_shows_the_sentence_and_reply(
    store: Engine, starttls_server: SmtpServer, trust_ca: Path
) -> None:
    mtas.add(store, description="Relay", host="127.0.0.1", port=starttls_server.port, security=Security.STARTTLS)
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        assert pilot.app.screen.query_one("#to", Input).value == "admin@example.com"
        result, transcript = await _run(pilot)
        assert ACCEPTED in result
        assert "Server replied: 250 2.0.0 Ok: queued as TEST00001" in result
        assert "STARTTLS" in transcript
        assert pilot.app.screen.query_one("#transcript-pane").display
        assert [r.rcpt_tos for r in starttls_server.received] == [["admin@example.com"]]
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, SettingsScreen)
        assert table_rows(pilot.app)[0][7].startswith("✓")


async def test_refused_connection_shows_kind_text_and_hint(store: Engine) -> None:
    mtas.add(store, description="Dead", host="127.0.0.1", port=closed_port())
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        result, _ = await _run(pilot)
        assert result.startswith("✗ Refused")
        assert "Hint:" in result
        await pilot.press("escape")
        assert table_rows(pilot.app)[0][7].startswith("✗")
        assert "refused" in (mtas.get(store, 1).last_error or "")


async def test_recipient_refused_shows_code_and_server_text(store: Engine, smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.rcpt_reply = "550 5.1.1 [nobody] here"
    mtas.add(store, description="Relay", host="127.0.0.1", port=smtp_server.port)
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        result, transcript = await _run(pilot)
        assert result.startswith("✗ Recipient refused (550) · permanent")
        assert "[nobody] here" in result  # literal, not markup
        assert "RCPT TO" in transcript


async def test_auth_failure_never_shows_the_password(store: Engine) -> None:
    with SmtpServer("plain", auth={"alice": "right-one"}) as server:
        mtas.add(store, description="Relay", host="127.0.0.1", port=server.port, username="alice", password="wrong-one")
        async with make_app(store).run_test(size=(100, 30)) as pilot:
            await pilot.press("t")
            result, transcript = await _run(pilot)
            assert result.startswith("✗ Auth failed")
            assert "wrong-one" not in result + transcript
            assert server.auth_attempts == ["alice"]


async def test_escape_cancels_a_running_test_then_closes(store: Engine) -> None:
    with RawServer(silent) as server:
        mtas.add(store, description="Silent", host="127.0.0.1", port=server.port)
        async with make_app(store).run_test(size=(100, 30)) as pilot:
            await pilot.press("t", "enter")
            await pilot.pause()
            dialog = pilot.app.screen
            assert isinstance(dialog, TestDialog)
            assert dialog.query_one("#test-running").display
            assert dialog.running is not None
            await pilot.pause(0.3)  # the running line counts the time against the timeout
            assert re.fullmatch(
                r"Sending… \d+\.\d s \(timeout 30 s\) · Esc cancels\.", static_text(pilot.app, "#test-running-text")
            )
            await pilot.press("escape")
            await pilot.pause()
            assert pilot.app.screen is dialog
            assert not dialog.query_one("#test-running").display
            assert re.fullmatch(r"Cancelled after \d+\.\d s\.", static_text(pilot.app, "#test-result"))
            await pilot.press("escape")
            assert isinstance(pilot.app.screen, SettingsScreen)


async def test_a_bad_address_is_refused_before_sending(store: Engine, smtp_server: SmtpServer) -> None:
    mtas.add(store, description="Relay", host="127.0.0.1", port=smtp_server.port)
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        await type_into(pilot, "#to", "not-an-address")
        await pilot.press("enter")
        await pilot.pause()
        error = static_text(pilot.app, "#to-error")
        assert error.startswith("Test recipient 'not-an-address' is not a valid email address")
        assert smtp_server.received == []


async def test_without_admin_address_the_dialog_says_how_to_fix_it(engine: Engine, smtp_server: SmtpServer) -> None:
    mtas.add(engine, description="Relay", host="127.0.0.1", port=smtp_server.port)
    async with make_app(engine).run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        assert "set it with A on Mail Settings" in static_text(pilot.app, "#test-sender")
        await type_into(pilot, "#to", "someone@example.com")
        result, _ = await _run(pilot)
        assert "administrator account has no email address" in result
        assert smtp_server.received == []


@pytest.mark.parametrize("saved", [False, True])
async def test_the_form_tests_its_current_values(store: Engine, smtp_server: SmtpServer, saved: bool) -> None:
    if saved:
        mtas.add(store, description="Relay", host="127.0.0.1", port=closed_port())
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("e" if saved else "a")
        assert isinstance(pilot.app.screen, MtaForm)
        await type_into(pilot, "#host", "127.0.0.1")
        await type_into(pilot, "#port", str(smtp_server.port))
        await pilot.press("ctrl+t")
        result, _ = await _run(pilot)
        assert ACCEPTED in result
        assert len(smtp_server.received) == 1
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, MtaForm)  # back in the form, nothing saved
        await pilot.press("escape")
        assert len(mtas.list_mtas(store)) == (1 if saved else 0)


def test_error_kinds_are_written_as_an_operator_writes_them() -> None:
    from ertui.tui.dialogs.test_dialog import kind_label

    assert kind_label("dns") == "DNS"
    assert kind_label("tls_certificate") == "TLS certificate"
    assert kind_label("starttls_unsupported") == "STARTTLS unsupported"
    assert kind_label("auth_failed") == "Auth failed"
    assert kind_label("recipient_refused") == "Recipient refused"


async def test_the_dialog_shows_the_steps_as_a_checklist(store: Engine, smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.rcpt_reply = "550 5.1.1 no such user"
    mtas.add(store, description="Relay", host="127.0.0.1", port=smtp_server.port)
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, TestDialog))
        await pilot.press("enter")
        dialog = pilot.app.screen
        assert isinstance(dialog, TestDialog)
        await wait_for(pilot, lambda: dialog.running is None, tries=500)
        shown = str(dialog.query_one("#test-steps").render())
        assert "✓ dns" in shown and "✓ tcp" in shown and "✓ mail" in shown
        assert "✗ rcpt" in shown and "550" in shown and "· data" in shown and "not reached" in shown
