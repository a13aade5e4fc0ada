"""The installed `ertui` in a real terminal, typed as a new operator types (issue
11): an MTA with User/Pass Authorization added by Tab and Space alone, the
password never on the screen; and the two crashes of item 1 and 2 driven with the
real key timing (`q` then `e`/`a` within 0.3 s; `²` in Host Port then SSL)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ertui import mtas
from ertui.store.engine import make_engine
from ertui.store.vault import Vault
from tests.e2e.conftest import Terminal, console_store, start_ertui

pytestmark = pytest.mark.e2e

PASSWORD = "Tr0ub4dor-e2e-pw"


def _start(terminal: Terminal, db: Path) -> None:
    console_store(db)
    start_ertui(terminal, db)


def _assert_clean_exit(terminal: Terminal) -> None:
    status = terminal.exit_status()
    text = terminal.screen()
    assert status == 0, text
    assert "Traceback" not in text and "NoMatches" not in text and "Error" not in text, text


def test_add_an_mta_with_auth_by_tab_and_space_alone(terminal: Terminal, tmp_path: Path, isolated_dirs: Path) -> None:
    db = tmp_path / "auth.db"
    _start(terminal, db)
    seen: list[str] = []

    def look() -> None:
        seen.append(terminal.screen())

    terminal.keys("a")
    terminal.wait_for(r"Add New MTA")
    terminal.type("Auth relay")
    terminal.keys("Tab")
    terminal.type("smtp.example.com")
    terminal.keys("Tab", "Tab", "Tab")  # Host Port, Enable SSL, Enable STARTTLS
    terminal.keys("Space")
    terminal.wait_for(r"Host Port\s+587\b")
    terminal.keys("Tab", "Space")  # Use User/Pass Authorization: on, the focus stays
    terminal.wait_for(r"Username")
    look()
    terminal.keys("Tab")
    terminal.type("alice")
    look()
    terminal.keys("Tab")
    for ch in PASSWORD:  # typed as a person types it
        terminal.type(ch)
        time.sleep(0.02)
    look()
    terminal.keys("Tab")  # Max. Concurrent Connections: keeps its default
    look()
    assert "clear text" not in seen[-1]  # STARTTLS: no clear-text warning
    terminal.keys("C-s")
    terminal.wait_for(r"smtp\.example\.com\s+Auth relay")
    look()
    for screen in seen:
        assert PASSWORD not in screen and PASSWORD[:6] not in screen
    (mta,) = mtas.list_mtas(make_engine(f"sqlite:///{db}"))
    assert (mta.username, mta.port, mta.max_connections) == ("alice", 587, 5)
    assert mta.password_enc and Vault.load().decrypt(mta.password_enc) == PASSWORD
    terminal.keys("q")
    _assert_clean_exit(terminal)


# Real key timing in tmux on a shared 2-core box: one run in four missed the
# pane's exit line; a rerun must pass (each run still asserts everything).
@pytest.mark.parametrize("second", ["e", "a"])
def test_a_key_right_after_q_does_not_crash(
    terminal: Terminal, tmp_path: Path, isolated_dirs: Path, second: str
) -> None:
    db = tmp_path / "quit.db"
    mtas.add(make_engine(f"sqlite:///{db}"), description="Relay", host="relay.example.com", enabled=False)
    _start(terminal, db)
    terminal.wait_for(r"Relay")
    terminal._run("send-keys", "-t", terminal.target, "q")
    time.sleep(0.05)  # well within 0.3 s
    terminal._run("send-keys", "-t", terminal.target, second)
    _assert_clean_exit(terminal)


def test_a_unicode_digit_in_the_port_then_ssl_does_not_crash(
    terminal: Terminal, tmp_path: Path, isolated_dirs: Path
) -> None:
    db = tmp_path / "digit.db"
    _start(terminal, db)
    terminal.keys("a")
    terminal.wait_for(r"Add New MTA")
    terminal.keys("Tab", "Tab", "End", "BSpace", "BSpace")  # Host Port, emptied
    terminal.type("²")
    terminal.keys("Tab", "Space")  # Enable SSL
    terminal.wait_for(r"Host Port\s+465\b")  # "²" was refused as typed; the mode set the port
    terminal.keys("Escape")
    terminal.wait_for(r"Discard changes\?")
    terminal.keys("y")
    terminal.wait_for(r"No MTA yet")
    terminal.keys("q")
    _assert_clean_exit(terminal)
