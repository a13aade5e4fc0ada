"""End-to-end: the installed `ertui` console script in a real terminal (tmux)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
KEY_GAP_SECONDS = 0.15


def ertui_script() -> str | None:
    """The console script installed next to this Python (the venv), else on PATH."""
    beside = Path(sys.executable).parent / "ertui"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("ertui")


class Terminal:
    """One tmux session on a private server (its own socket), running one command."""

    def __init__(self, socket: str, width: int, height: int) -> None:
        assert TMUX is not None
        self.tmux = TMUX
        self.socket = socket
        self.width, self.height = width, height
        self.target = "e2e"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.tmux, "-L", self.socket, *args], check=check, capture_output=True, text=True, timeout=20
        )

    def start(self, command: list[str], env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # Stale COLUMNS/LINES exports (pytest's terminal sets them too) must not
        # shrink the console: ertui ignores them and uses the pane's real size.
        shell = f"exec env COLUMNS=40 LINES=12 {exports} {shlex.join(command)}"
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

    def dead(self) -> bool:
        out = self._run("display-message", "-p", "-t", self.target, "#{pane_dead}", check=False)
        return out.returncode != 0 or out.stdout.strip() == "1"

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

    def exit_status(self) -> str:
        """How the pane's program ended: "status N", "signal N", or what tmux said."""
        fmt = "#{pane_dead} #{pane_dead_status} #{pane_dead_signal}"
        out = self._run("display-message", "-p", "-t", self.target, fmt, check=False)
        dead, status, signal = [*out.stdout.split(), "", "", ""][:3] if out.returncode == 0 else ["", "", ""]
        if dead == "1" and status:
            return f"status {status}"
        if dead == "1" and signal:
            return f"signal {signal}"
        return f"unknown (tmux: {out.returncode} {out.stdout.strip()!r} {out.stderr.strip()!r})"

    def wait_until_dead(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.dead():
            if time.monotonic() > deadline:
                pytest.fail(f"the program did not exit; the terminal shows:\n{self.screen()}")
            time.sleep(0.2)

    def close(self) -> None:
        self._run("kill-server", check=False)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    if TMUX is None:
        pytest.skip("tmux is not installed: the end-to-end test needs a real terminal")
    term = Terminal(f"ertui-e2e-{uuid.uuid4().hex[:10]}", 100, 30)
    try:
        yield term
    finally:
        term.close()
