"""Start-up of `ertui` as a whole process (issue 15 item 1).

    .venv/bin/python bench/startup.py                 # --runs 7
    .venv/bin/python bench/startup.py --pythonpath /work/main   # another checkout's code, same venv

Prints the median wall time of:

- ``python -c "import click"``, the baseline the goals are ratios of;
- ``ertui --help`` and ``ertui mta list`` on a small store (one MTA), with the
  peak RSS of the process (``os.wait4``'s ``ru_maxrss``);
- the console (``python -m ertui`` in a pseudo-terminal of 100×30, a small
  store): process start to its first frame (the header "Mail Settings" on
  the terminal) and to its data (the MTA's description), read from the
  terminal's bytes as a user's terminal receives them.

Timings go here, never in a test. Run it on a quiet machine for figures to
compare; the VM's other work moves them by ±20 %.
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from fcntl import ioctl
from pathlib import Path

ANSI = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|P[^\x1b]*\x1b\\|[@-Z\\-_])")
FIRST_FRAME = b"Mail Settings"
DATA = b"Bench relay"


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=env["HOME"])
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{cmd} exited with {proc.returncode}")
    return elapsed, usage.ru_maxrss


def console_times(python: str, db: Path, env: dict[str, str], timeout: float = 20.0) -> tuple[float, float]:
    """Seconds from spawning the console to its first frame, and to its data."""
    master, slave = pty.openpty()
    ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(
        [python, "-m", "ertui", "--db", str(db)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=env["HOME"],
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    first = data = None
    try:
        while data is None:
            left = timeout - (time.perf_counter() - start)
            if left <= 0:
                raise SystemExit(f"the console did not show its data in {timeout} s; it showed {seen[-400:]!r}")
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the console exited
                raise SystemExit(f"the console exited; it showed {seen[-400:]!r}") from None
            now = time.perf_counter() - start
            seen += ANSI.sub(b"", chunk)
            if first is None and FIRST_FRAME in seen:
                first = now
            if DATA in seen:
                data = now
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        os.close(master)
    assert first is not None
    return first, data


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--compare",
        metavar="CHECKOUT",
        help="also measure another checkout's code (put first on sys.path), run for run in turn with this one",
    )
    args = parser.parse_args()
    python = sys.executable
    contenders: list[tuple[str, str | None]] = [("this", None)]
    if args.compare:
        contenders.append((Path(args.compare).name, args.compare))
    with tempfile.TemporaryDirectory() as tmp:
        base_env = {
            **os.environ,
            "HOME": tmp,  # also the processes' folder: not the checkout, which `-m` would put first on sys.path
            "XDG_DATA_HOME": f"{tmp}/data",
            "XDG_CONFIG_HOME": f"{tmp}/config",
            "ERTUI_SECRET_KEY": "aMC3ZzJ1x6CbqMy9RRAjbX3HTgGb8XPDzbpEn8HxSzI=",
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
        }
        for name in ("COLUMNS", "LINES", "PYTHONPATH"):
            base_env.pop(name, None)
        db = Path(tmp) / "small.db"
        ertui = [python, "-m", "ertui"]
        subprocess.run(
            [*ertui, "--db", str(db), "mta", "add", "--description", "Bench relay", "--host", "127.0.0.1"],
            env=base_env,
            cwd=tmp,
            check=True,
            capture_output=True,
        )
        commands = (
            ('python -c "import click"', [python, "-c", "import click"]),
            ("ertui --help", [*ertui, "--help"]),
            ("ertui --version", [*ertui, "--version"]),
            ("ertui mta list (one MTA)", [*ertui, "--db", str(db), "mta", "list"]),
        )
        times: dict[tuple[str, str], list[float]] = {}
        rss: dict[tuple[str, str], list[int]] = {}
        for _ in range(args.runs):  # run for run, contender after contender: the same load for each
            for who, path in contenders:
                env = dict(base_env, PYTHONPATH=path) if path else base_env
                for label, cmd in commands:
                    elapsed, peak = timed(cmd, env)
                    times.setdefault((who, label), []).append(elapsed)
                    rss.setdefault((who, label), []).append(peak)
                first, data = console_times(python, db, env)
                times.setdefault((who, "console: start → first frame"), []).append(first)
                times.setdefault((who, "console: start → its data"), []).append(data)
    print(f"{'code':6} {'what':32} {'median':>8} {'× click':>8} {'max RSS':>9}   runs (s)")
    for who, _ in contenders:
        base = median(times[(who, commands[0][0])])
        for (owner, label), values in times.items():
            if owner != who:
                continue
            peak_text = f"{max(rss[(who, label)]) / 1024:7.1f}MB" if (who, label) in rss else ""
            spread = " ".join(f"{t:.3f}" for t in sorted(values))
            print(f"{who:6} {label:32} {median(values):7.3f}s {median(values) / base:7.1f}× {peak_text:>9}   {spread}")


if __name__ == "__main__":
    main()
