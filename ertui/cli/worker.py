"""`ertui worker`: run the delivery worker in the foreground."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from typing import TextIO

import click

from ertui.cli.common import engine

LEVELS = ("debug", "info", "warning", "error")


class _BatchedFlush(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes lines through at most every 0.2 s instead of
    after every line: one line per delivery at thousands per second would
    otherwise cost a system call each. The worker command calls ``flush_now``
    every 0.2 s, and closing (at exit) writes the rest."""

    interval = 0.2

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._last = 0.0

    def flush(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            super().flush()

    def flush_now(self) -> None:
        self._last = time.monotonic()
        super().flush()

    def close(self) -> None:
        self.flush_now()
        if self.stream is not sys.stderr:
            self.stream.close()
        super().close()


class _Formatter(logging.Formatter):
    """``2026-11-27 10:18:20,123 INFO …`` with the date part made once per second."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(record.created))
        return f"{self._stamp},{int(record.msecs):03d}"


def _logging(log_file: str | None, level: str) -> _BatchedFlush:
    stream: TextIO = open(log_file, "a", encoding="utf-8") if log_file else sys.stderr  # noqa: SIM115
    handler = _BatchedFlush(stream)
    handler.setFormatter(_Formatter())
    # One line per delivery: skip what this log never shows (the caller's file
    # and line, thread and process names), as the logging HOWTO suggests.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger("ertui")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    return handler


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--lease-seconds", type=click.FloatRange(1, 3600), default=None,
              help="How long a claim lasts without renewal (default 30).")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None,
              help="Append the log here instead of stderr.")
@click.option("--log-level", type=click.Choice(LEVELS, case_sensitive=False), default="info",
              show_default=True)
@click.pass_context
def worker_cmd(
    ctx: click.Context, once: bool, lease_seconds: float | None, log_file: str | None,
    log_level: str,
) -> None:
    """Deliver the mail queue over every enabled MTA (SIGTERM/SIGINT: graceful stop).

    Tuning for tests and special cases comes from ERTUI_WORKER_<SETTING>
    variables, e.g. ERTUI_WORKER_BACKOFF_BASE=0 (see ertui.sender.WorkerSettings).
    """
    from ertui.sender import DeliveryWorker, WorkerSettings

    handler = _logging(log_file, log_level)
    eng = engine(ctx)
    worker = DeliveryWorker(eng, WorkerSettings.from_env(lease_seconds=lease_seconds))
    log = logging.getLogger("ertui.worker")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stops = 0

        def on_signal() -> None:
            nonlocal stops
            stops += 1
            if stops == 1:
                log.info("stopping: finishing what is in flight (signal again to hurry)")
                worker.request_stop()
            else:
                log.info("stopping now: sends in flight are given back")
                worker.hurry()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        async def flush_log() -> None:
            while True:
                await asyncio.sleep(_BatchedFlush.interval)
                handler.flush_now()

        flusher = asyncio.create_task(flush_log())
        log.info("worker %s started%s", worker.id, " (once)" if once else "")
        try:
            await worker.run(once=once)
        finally:
            flusher.cancel()
        log.info("worker %s stopped", worker.id)
        handler.flush_now()

    # The store is written from a helper thread; a short GIL switch interval
    # keeps that thread from stalling the event loop that drives the SMTP sessions.
    sys.setswitchinterval(0.0005)
    loop = _new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def register(cli: click.Group) -> None:
    cli.add_command(worker_cmd)
