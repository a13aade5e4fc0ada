"""A console process: one that will not quit is killed with its children; its stderr is logged safely."""

from __future__ import annotations

import asyncio
import signal
import sys
from asyncio.subprocess import Process
from pathlib import Path

import pytest
from textual_serve.download_manager import DownloadManager

from ertui.web import server
from ertui.web.server import ConsoleProcess
from tests.web.conftest import alive, wait_until

# Says it is a Textual app, starts a child of its own, then ignores quit, SIGTERM and stdin.
IGNORE_SIGTERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN)"
STUBBORN = f"""
{IGNORE_SIGTERM}
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "{IGNORE_SIGTERM}; time.sleep(600)"])
open(sys.argv[1], "w").write(str(child.pid))
sys.stdout.write("__GANGLION__\\n"); sys.stdout.flush()
time.sleep(600)
"""


async def nothing(*_: object) -> None:
    return None


def make_console(kind: type[ConsoleProcess] = ConsoleProcess) -> ConsoleProcess:
    return kind(
        "sqlite:///unused.db",
        (80, 24),
        write_bytes=nothing,
        write_str=nothing,
        close=nothing,
        download_manager=DownloadManager(),
    )


async def test_a_console_that_ignores_quit_and_sigterm_is_killed_with_its_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "QUIT_GRACE", 0.5)
    monkeypatch.setattr(server, "KILL_GRACE", 0.5)
    pid_file = tmp_path / "grandchild.pid"
    console = make_console()
    console.argv = [sys.executable, "-c", STUBBORN, str(pid_file)]
    await console.start(80, 24)
    wait_until(lambda: pid_file.exists() and pid_file.read_text(), "the console to start its child")
    assert console.process is not None
    pids = [console.process.pid, int(pid_file.read_text())]
    assert all(alive(pid) for pid in pids)
    await console.stop()
    assert console.process.returncode == -signal.SIGKILL
    wait_until(lambda: not any(alive(pid) for pid in pids), "the console and its child to be gone", 10)


async def test_what_a_console_writes_to_stderr_is_logged_safe_for_a_terminal(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    console = make_console()
    console.argv = [
        sys.executable,
        "-c",
        "import sys; sys.stderr.write('boom \\x1b]0;owned\\x07 here\\n'); print('__GANGLION__', flush=True)",
    ]
    with caplog.at_level("WARNING", logger="ertui.web"):
        await console.start(80, 24)
        assert console.process is not None
        await console.process.wait()
        await console.stop()
    logged = [r.getMessage() for r in caplog.records if "boom" in r.getMessage()]
    assert logged == [f"console {console.process.pid}: boom \\x1b]0;owned\\x07 here"]
    assert "\x1b" not in capsys.readouterr().out


class ReadLate(ConsoleProcess):
    """A console whose output is all read in before textual-serve's reader
    starts (as under load: the process wrote and ended at once)."""

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        process = await super()._open_app_process(width, height)
        await process.wait()
        assert process.stdout is not None
        for _ in range(200):  # until the pipe's end is in the reader's buffer
            if process.stdout.at_eof() or getattr(process.stdout, "_eof", False):
                break
            await asyncio.sleep(0.01)
        return process


@pytest.mark.parametrize("output", ["", "__GANGLION__\\n"])
async def test_a_console_that_ended_before_it_was_read_stops_cleanly(output: str) -> None:
    console = make_console(ReadLate)
    console.argv = [sys.executable, "-c", f"import sys; sys.stdout.write('{output}')"]
    await console.start(80, 24)
    await console.stop()  # textual-serve cancelled its stderr reader before it ran: not our error
    assert console.process is not None and console.process.returncode == 0
