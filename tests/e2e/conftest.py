"""End-to-end: the installed `ertui` console script in a real terminal (tmux)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from ertui import settings
from ertui.store.engine import make_engine

TMUX = shutil.which("tmux")
KEY_GAP_SECONDS = 0.15


def ertui_script() -> str | None:
    """The console script installed next to this Python (the venv), else on PATH."""
    beside = Path(sys.executable).parent / "ertui"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("ertui")


def installed_ertui() -> str:
    """The console script, or the test skipped saying it is not installed."""
    script = ertui_script()
    if script is None:
        pytest.skip("the ertui console script is not installed")
    return script


def console_env(**extra: str) -> dict[str, str]:
    """The environment the console runs with in the terminal: the test's own
    data and config folders, a 256-colour UTF-8 terminal, no animations."""
    return {
        "XDG_DATA_HOME": os.environ["XDG_DATA_HOME"],
        "XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"],
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "TEXTUAL_ANIMATIONS": "none",
        **extra,
    }


def console_store(db: Path) -> Engine:
    """A store file with what the console needs before it sends: the
    administrator's address and the master host name."""
    engine = make_engine(f"sqlite:///{db}")
    settings.set_admin_email(engine, "ops@example.com")
    settings.set_master_host(engine, "console.example.com")
    return engine


def start_ertui(terminal: Terminal, db: Path, **env: str) -> None:
    """Run the installed ``ertui --db DB`` in the terminal (``env``: more
    variables) and wait for Mail Settings."""
    terminal.start([installed_ertui(), "--db", str(db)], console_env(**env))
    terminal.wait_for(r"List of Message Transfer Agents")


class Terminal:
    """One tmux session on a private server (its own socket), running one command."""

    def __init__(self, socket: str, width: int, height: int) -> None:
        assert TMUX is not None
        self.tmux = TMUX
        self.socket = socket
        self.width, self.height = width, height
        self.target = "e2e"
        # The program's exit status, written by the shell that runs it: tmux's
        # own (its "Pane is dead" line, #{pane_dead_status}) is sometimes never
        # known — under load tmux can leave the exited program a zombie it
        # never reaps (seen: pane dead, process State Z, status empty).
        self._status_dir = Path(tempfile.mkdtemp(prefix="ertui-e2e-"))
        self.status_file = self._status_dir / "status"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.tmux, "-L", self.socket, *args], check=check, capture_output=True, text=True, timeout=20
        )

    def start(self, command: list[str], env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # Stale COLUMNS/LINES exports (pytest's terminal sets them too) must not
        # shrink the console: ertui ignores them and uses the pane's real size.
        status = shlex.quote(str(self.status_file))
        record = f"echo $? > {status}.tmp && mv {status}.tmp {status}"
        shell = f"env COLUMNS=40 LINES=12 {exports} {shlex.join(command)}; {record}"
        self._run("new-session", "-d", "-s", self.target, "-x", str(self.width), "-y", str(self.height), shell)
        self._run("set-option", "-t", self.target, "remain-on-exit", "on")

    def keys(self, *keys: str) -> None:
        """tmux key names: Tab, BTab, Space, Enter, Escape, C-s, C-t, End, BSpace…

        One at a time, as a person types: a burst of several keys in one read can
        reach the app before the focus has moved for the previous one.
        """
        for key in keys:
            self._run("send-keys", "-t", self.target, key)
            time.sleep(KEY_GAP_SECONDS)

    def type(self, text: str) -> None:
        self._run("send-keys", "-t", self.target, "-l", text)

    def screen(self) -> str:
        return self._run("capture-pane", "-p", "-t", self.target).stdout

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Poll the screen until ``pattern`` (a regex) shows; fail with the screen."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            found = re.search(pattern, text)
            if found:
                return found
            if time.monotonic() > deadline:
                pytest.fail(f"{pattern!r} never showed on the terminal; it shows:\n{text}")
            time.sleep(0.2)

    def exit_status(self, timeout: float = 30.0) -> int:
        """Wait for the program to end; its exit status. Fails, saying what the
        process is doing, when it does not end in time."""
        deadline = time.monotonic() + timeout
        while True:
            if self.status_file.exists():
                return int(self.status_file.read_text())
            if time.monotonic() > deadline:
                out = self._run("display-message", "-p", "-t", self.target, "#{pane_pid}", check=False)
                children = _children(out.stdout.strip())
                pytest.fail(f"the program did not exit: {children}; the terminal shows:\n{self.screen()}")
            time.sleep(0.2)

    def close(self) -> None:
        self._run("kill-server", check=False)
        shutil.rmtree(self._status_dir, ignore_errors=True)


def _children(pid: str) -> str:
    """The state and threads of the pane shell's children (the program)."""
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return f"the pane's shell {pid or '?'} is gone"
    out = []
    for kid in kids:
        try:
            status = Path(f"/proc/{kid}/status").read_text()
            names = [Path(t, "comm").read_text().strip() for t in Path(f"/proc/{kid}/task").iterdir()]
        except OSError:
            continue
        state = next((line for line in status.splitlines() if line.startswith("State:")), "State: ?")
        out.append(f"pid {kid} {state}, threads {sorted(names)}")
    return "; ".join(out) or "no process left under the pane's shell"


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    if TMUX is None:
        pytest.skip("tmux is not installed: the end-to-end test needs a real terminal")
    term = Terminal(f"ertui-e2e-{uuid.uuid4().hex[:10]}", 100, 30)
    try:
        yield term
    finally:
        term.close()
