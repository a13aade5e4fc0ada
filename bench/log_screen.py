"""Delivery log benchmark: does the console's live log screen slow a full drain?

Run by hand (never by the test suite), like ``bench/drain.py`` (Postfix's
``smtp-sink`` as the server, started and stopped on a free port):

    .venv/bin/python bench/log_screen.py [--count 10000] [--connections 10]
                                         [--rounds 3] [--mode both|process|console]

Each round drains the same N messages twice, once without and once with the
Delivery log screen open (headless Textual, ``App.run_test()``), alternating
which goes first, and prints the drain rates and their ratio (target: the log
screen costs < 5 %, i.e. with / without >= 0.95) and whether the screen kept
up: how long after the drain ended it showed the newest attempt (it reads at
most the newest 1,000 attempts every 0.5 s, the lines it keeps).

- ``process``: ``ertui worker --once`` as its own process (its drain from its
  "started" to its "stopped" log line, as in ``bench/drain.py``); the log
  screen runs in this process on the same SQLite store, as an operator's
  console beside a service worker.
- ``console``: the worker inside the console's process and event loop, as
  ``ertui`` runs it (``tui.core.make_worker``, a ``DeliveryNotice`` posted per
  delivery), with the log screen open or a blank screen: the screen's polls,
  reads and drawing share the GIL and the loop with the worker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from drain import Sink, prepare_store, reset_store, run_ertui  # noqa: E402

TARGET = 0.95


def make_app(url: str, with_log: bool) -> Any:
    """A headless app on the store: the Delivery log screen, or a blank one."""
    from textual.app import App
    from textual.screen import Screen

    from ertui.store.engine import make_engine
    from ertui.tui.screens.delivery_log import DeliveryLogScreen

    engine = make_engine(url)

    class Bench(App[None]):
        def on_mount(self) -> None:
            self.push_screen(DeliveryLogScreen(engine) if with_log else Screen())

    app = Bench()
    app.engine = engine  # type: ignore[attr-defined]
    return app


async def wait_current(app: Any, limit: float = 30.0) -> float | None:
    """Seconds until the log screen shows the newest attempt in the store (None: never)."""
    from ertui import delivery_log

    newest = delivery_log.last_id(app.engine)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        if (getattr(app.screen, "after_id", None) or 0) >= newest:
            return time.perf_counter() - t0
        await asyncio.sleep(0.02)
    return None


@dataclass
class Round:
    drain: float  # seconds
    cpu: float  # CPU seconds: the worker's (process mode) or the whole console's (console mode)
    screen_cpu: float = 0.0  # process mode: this process's, i.e. the log screen's
    lag: float | None = None  # with the screen: seconds until it showed the newest attempt


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


async def process_round(url: str, count: int, tmp: str, with_log: bool) -> Round:
    """``ertui worker --once`` (its drain seconds), beside the headless log screen or alone."""
    c0 = _children_cpu()
    if not with_log:
        drain = run_ertui(url, count, tmp, "info")[1]
        return Round(drain, _children_cpu() - c0)
    app = make_app(url, True)
    async with app.run_test(size=(120, 40)):
        await asyncio.sleep(0.6)  # the screen's first read (the store's tail) is done
        c0, p0 = _children_cpu(), time.process_time()
        _, drain, _ = await asyncio.to_thread(run_ertui, url, count, tmp, "info", reset=False)
        cpu, screen_cpu = _children_cpu() - c0, time.process_time() - p0
        lag = await wait_current(app)
    app.engine.dispose()
    reset_store(url, count)
    return Round(drain, cpu, screen_cpu, lag)


async def console_round(url: str, count: int, with_log: bool) -> Round:
    """The worker in the app's own loop, as the console runs it."""
    from ertui.tui.core import make_worker
    from ertui.tui.messages import DeliveryNotice

    app = make_app(url, with_log)
    async with app.run_test(size=(120, 40)):
        await asyncio.sleep(0.6)
        worker = make_worker(app.engine, lambda event: app.post_message(DeliveryNotice(event)))
        t0, p0 = time.perf_counter(), time.process_time()
        await worker.run(once=True)
        drain, cpu = time.perf_counter() - t0, time.process_time() - p0
        lag = await wait_current(app) if with_log else None
    app.engine.dispose()
    reset_store(url, count)
    return Round(drain, cpu, lag=lag)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mode", choices=("both", "process", "console"), default="both")
    args = ap.parse_args()
    n = args.count
    modes = ("process", "console") if args.mode == "both" else (args.mode,)
    with tempfile.TemporaryDirectory() as tmp, Sink() as sink:
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        url, sample = prepare_store(tmp, sink.port, n, args.connections)
        print(
            f"{n} messages of {len(sample[0])} bytes, smtp-sink on 127.0.0.1:{sink.port}, "
            f"{args.connections} connections, {args.rounds} rounds (with/without alternating), "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        for mode in modes:
            runs: dict[bool, list[Round]] = {False: [], True: []}
            for r in range(args.rounds):
                for with_log in (False, True) if r % 2 == 0 else (True, False):
                    print(f"  round {r} {mode} with_log={with_log}", file=sys.stderr, flush=True)
                    if mode == "process":
                        runs[with_log].append(asyncio.run(process_round(url, n, tmp, with_log)))
                    else:
                        runs[with_log].append(asyncio.run(console_round(url, n, with_log)))
            report(mode, n, runs)


def report(mode: str, n: int, runs: dict[bool, list[Round]]) -> None:
    rates = {k: [n / x.drain for x in v] for k, v in runs.items()}
    without, with_ = statistics.median(rates[False]), statistics.median(rates[True])
    ratio = with_ / without
    per_round = " / ".join(f"{w / o:.3f}" for w, o in zip(rates[True], rates[False], strict=True))
    print(f"[{mode}] drain without the log screen: {without:,.0f} msgs/s  ({_runs(rates[False])})")
    print(f"[{mode}] drain with the log screen:    {with_:,.0f} msgs/s  ({_runs(rates[True])})")
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(f"[{mode}] with / without = {ratio:.3f} (per round {per_round}; target >= {TARGET}: {verdict})")
    cpu = {k: statistics.median(x.cpu for x in v) for k, v in runs.items()}
    if mode == "process":
        screen = statistics.median(x.screen_cpu for x in runs[True])
        print(
            f"[{mode}] CPU: worker {cpu[False]:.2f} s alone, {cpu[True]:.2f} s beside the screen; "
            f"the screen's process {screen:.2f} s ({screen / cpu[True]:.1%} of the worker's)"
        )
    else:
        print(f"[{mode}] CPU of the console process: {cpu[False]:.2f} s without, {cpu[True]:.2f} s with the screen")
    lags = ", ".join("never" if x.lag is None else f"{x.lag:.2f} s" for x in runs[True])
    print(f"[{mode}] the newest attempt on screen, after the drain ended: {lags}")


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v:,.0f}" for v in values)


if __name__ == "__main__":
    main()
