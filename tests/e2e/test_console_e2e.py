"""The installed `ertui` in a real terminal: add an MTA with STARTTLS (the port turns
587), test it against a local aiosmtpd with STARTTLS, read the success sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from ertui import mtas
from tests.e2e.conftest import Terminal, console_store, start_ertui
from tests.smtpd import SmtpServer

pytestmark = pytest.mark.e2e


def test_add_starttls_mta_and_test_it_in_a_real_terminal(
    terminal: Terminal,
    starttls_server: SmtpServer,
    trust_ca: Path,
    tmp_path: Path,
    isolated_dirs: Path,
) -> None:
    db = tmp_path / "e2e.db"
    engine = console_store(db)
    start_ertui(terminal, db, SSL_CERT_FILE=str(trust_ca))  # the test CA, trusted as an operator would
    terminal.wait_for(r"No MTA yet")

    terminal.keys("a")
    terminal.wait_for(r"Add New MTA")
    terminal.type("E2E relay")
    terminal.keys("Tab")
    terminal.type("127.0.0.1")
    terminal.keys("Tab", "Tab", "Tab")  # Host Port, Enable SSL, Enable STARTTLS
    terminal.keys("Space")
    terminal.wait_for(r"Enable STARTTLS\s+\S*\s*on")
    terminal.wait_for(r"Host Port\s+587\b")  # the switch set the STARTTLS port, visibly

    terminal.keys("BTab", "BTab")  # back to Host Port: the local server's port
    terminal.keys("End", *["BSpace"] * 6)
    terminal.type(str(starttls_server.port))
    terminal.wait_for(rf"Host Port\s+{starttls_server.port}\b")

    terminal.keys("C-t")  # test the values in the form
    terminal.wait_for(r"Test Email Settings")
    terminal.wait_for(r"ops@example\.com")
    terminal.keys("Enter")
    terminal.wait_for(r"Email server accepted mail for delivery")
    terminal.wait_for(r"Server replied: 250")
    assert [r.rcpt_tos for r in starttls_server.received] == [["ops@example.com"]]

    terminal.keys("Escape")
    terminal.wait_for(r"Add New MTA")
    terminal.keys("C-s")
    terminal.wait_for(r"127\.0\.0\.1\s+E2E relay\s+\d+\s+STARTTLS")
    (mta,) = mtas.list_mtas(engine)
    assert (mta.security, mta.port) == ("starttls", starttls_server.port)

    terminal.keys("q")  # the worker stops gracefully, then the process exits
    assert terminal.exit_status() == 0
