"""`ertui serve` as a real process on a free loopback port, and the processes it starts."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

START_SECONDS = 60.0
STOP_SECONDS = 30.0
TOKEN_RE = re.compile(r"(http://\S+?)/\?token=([A-Za-z0-9_-]+)")
URL_RE = re.compile(r"(http://\S+?)/\s")


def children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (from /proc)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_until(pred: Callable[[], object], what: str, seconds: float = 30.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Served:
    """One running ``ertui serve``: its address, its token (if a login is required), its output."""

    proc: subprocess.Popen[str]
    stderr_path: Path
    base: str = ""
    token: str | None = None
    stdout: list[str] = field(default_factory=list)

    @property
    def stdout_text(self) -> str:
        return "".join(self.stdout)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def consoles(self) -> set[int]:
        return children(self.proc.pid)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("ertui serve did not stop:\n" + self.stderr()) from None


def _start(tmp_path: Path, db: Path, *args: str) -> Served:
    stderr_path = tmp_path / f"serve-{len(list(tmp_path.glob('serve-*.err')))}.err"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ertui", "--db", str(db), "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=stderr_path.open("w"),
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    served = Served(proc, stderr_path)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            served.stdout.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    end = time.monotonic() + START_SECONDS
    while "Ctrl-C stops it." not in served.stdout_text:
        if proc.poll() is not None or time.monotonic() > end:
            served.stop(signal.SIGKILL)
            raise AssertionError(f"ertui serve did not start:\n{served.stdout_text}\n{served.stderr()}")
        with contextlib.suppress(queue.Empty):
            lines.get(timeout=0.2)
    text = served.stdout_text
    if match := TOKEN_RE.search(text):
        served.base, served.token = match.group(1), match.group(2)
    elif match := URL_RE.search(text):
        served.base = match.group(1)
    return served


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start ``ertui --db DB serve --port 0 ARGS``; every one is stopped, and leaves no process behind."""
    started: list[Served] = []

    def start(db: Path, *args: str) -> Served:
        served = _start(tmp_path, db, *args)
        started.append(served)
        return served

    yield start
    consoles: set[int] = set()
    for served in started:
        consoles |= served.consoles()
        served.stop()
    wait_until(lambda: not any(alive(pid) for pid in consoles), "every console process to end", STOP_SECONDS)
