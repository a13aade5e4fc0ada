"""Mail Queue benchmark (run by hand, never by pytest).

Fills a fresh SQLite store with 100,000 unsent messages (``queue.enqueue_batch``),
then opens the console on it and measures the time from pressing `m` on Mail
Settings to the first queue rows on screen, and the console's peak resident
memory (VmHWM). Target: <= 1 s and <= 150 MiB.

    .venv/bin/python bench/tui_queue.py                 # tmux, else Pilot
    .venv/bin/python bench/tui_queue.py --mode pilot    # headless Pilot only
    .venv/bin/python bench/tui_queue.py --db /tmp/q.db  # reuse a filled store

tmux mode runs the installed `ertui` console script in a real terminal (100x30)
and watches the pane; Pilot mode runs the App headless in a fresh process. The
store is filled in its own process, so its memory does not count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_DEFAULT = 100_000
TARGET_SECONDS = 1.0
TARGET_MIB = 150.0


def fill(db: Path, n: int) -> None:
    from ertui import queue, settings
    from ertui.store.engine import make_engine

    engine = make_engine(f"sqlite:///{db}")
    settings.set_admin_email(engine, "admin@example.com")
    settings.set_master_host(engine, "console.example.com")
    have = queue.count_messages(engine)
    chunk = 10_000
    t0 = time.perf_counter()
    for start in range(have, n, chunk):
        items = [
            (f"user{i:06d}@example.com", f"Scan report {i} [URGENT]", f"Body of message {i}.\n")
            for i in range(start, min(start + chunk, n))
        ]
        queue.enqueue_batch(engine, items)
    print(
        f"store: {queue.count_messages(engine):,} unsent messages in {db} (filled in {time.perf_counter() - t0:.1f} s)"
    )
    engine.dispose()


def vm(pid: int | str, field: str) -> float:
    """A /proc/PID/status size field in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- Pilot mode (in a fresh process) ------------------------------------------------
async def _pilot(db: Path) -> tuple[float, float, float, int]:
    from textual.widgets import DataTable

    from ertui.store.engine import make_engine
    from ertui.tui.app import ErtuiApp
    from ertui.tui.screens.queue import QueueScreen

    engine = make_engine(f"sqlite:///{db}")
    app = ErtuiApp(engine, start_worker=os.environ.get("BENCH_WORKER") == "1")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.5)
        rss_before = vm("self", "VmRSS")
        t0 = time.perf_counter()
        await pilot.press("m")
        while True:
            screen = app.screen
            if isinstance(screen, QueueScreen):
                table = screen.query_one("#queue-table", DataTable)
                if table.row_count > 0:
                    await pilot.pause()  # and painted
                    break
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - t0
        rows = table.row_count
    return elapsed, rss_before, vm("self", "VmHWM"), rows


def run_pilot(db: Path) -> tuple[float, float]:
    elapsed, rss_before, hwm, rows = asyncio.run(_pilot(db))
    print(
        f"pilot: {rows} rows on screen {elapsed * 1000:.0f} ms after `m`; "
        f"RSS before `m` {rss_before:.0f} MiB, peak {hwm:.0f} MiB"
    )
    return elapsed, hwm


# -- tmux mode (the real console script in a real terminal) ----------------------------
SOCKET = f"ertui-bench-{os.getpid()}"  # a tmux server of our own, never the user's


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=True).stdout


def _pane(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def run_tmux(db: Path) -> tuple[float, float]:
    ertui = shutil.which("ertui") or str(Path(sys.executable).with_name("ertui"))
    session = f"ertui-bench-{os.getpid()}"
    cmd = f"exec {ertui} --db {db}"
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", cmd)
    try:
        pid = tmux("display", "-p", "-t", session, "#{pane_pid}").strip()
        deadline = time.monotonic() + 30
        while "View Mail Queue" not in _pane(session):
            if time.monotonic() > deadline:
                raise SystemExit("the console did not show Mail Settings within 30 s")
            time.sleep(0.05)
        time.sleep(1.0)  # settled
        rss_before = vm(pid, "VmRSS")
        t0 = time.perf_counter()
        tmux("send-keys", "-t", session, "m")
        while "user099999@" not in _pane(session):  # the newest message (the column may cut the domain)
            if time.perf_counter() - t0 > 30:
                raise SystemExit("no queue rows within 30 s")
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        time.sleep(2.0)  # a few live reloads of the page
        hwm = vm(pid, "VmHWM")
        screen = _pane(session)
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], check=False)
        Path(f"/tmp/tmux-{os.getuid()}/{SOCKET}").unlink(missing_ok=True)
    print(screen)
    print(
        f"tmux: first rows {elapsed * 1000:.0f} ms after `m` (pane polled every ~20 ms); "
        f"RSS before `m` {rss_before:.0f} MiB, peak {hwm:.0f} MiB"
    )
    return elapsed, hwm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, help="SQLite file to use (filled up to --messages)")
    ap.add_argument("--messages", type=int, default=N_DEFAULT)
    ap.add_argument("--mode", choices=("auto", "tmux", "pilot"), default="auto")
    ap.add_argument("--fill-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--pilot-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    tmp = None
    if args.db is None:
        tmp = Path(tempfile.mkdtemp(prefix="ertui-bench-"))
        args.db = tmp / "bench.db"
    try:
        if args.fill_only:
            fill(args.db, args.messages)
            return
        if args.pilot_only:
            run_pilot(args.db)
            return
        me = [sys.executable, __file__, "--db", str(args.db), "--messages", str(args.messages)]
        subprocess.run([*me, "--fill-only"], check=True)
        mode = args.mode
        if mode == "auto":
            mode = "tmux" if shutil.which("tmux") else "pilot"
        if mode == "tmux":
            elapsed, hwm = run_tmux(args.db)
        else:
            subprocess.run([*me, "--pilot-only"], check=True)
            return
        ok = elapsed <= TARGET_SECONDS and hwm <= TARGET_MIB
        print(f"target <= {TARGET_SECONDS:.0f} s and <= {TARGET_MIB:.0f} MiB: {'met' if ok else 'NOT met'}")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
