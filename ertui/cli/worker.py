"""`ertui worker`: run the delivery worker in the foreground."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time

import click

from ertui.cli.common import engine

LEVELS = ("debug", "info", "warning", "error")


class _LineLog(logging.Handler):
    """Log lines gathered and written through at most every 0.2 s, whole lines in
    one ``write`` to an append-mode file descriptor: one line per delivery at
    thousands per second would otherwise cost a system call each, and several
    worker processes (``--processes``) can share one file without cutting each
    other's lines. The worker command calls ``flush_now`` every 0.2 s; closing
    writes the rest."""

    interval = 0.2

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        self._lines: list[str] = []
        self._last = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record) + "\n")
        except Exception:
            self.handleError(record)
            return
        if time.monotonic() - self._last >= self.interval:
            self.flush_now()

    def flush_now(self) -> None:
        self._last = time.monotonic()
        if not self._lines:
            return
        data = "".join(self._lines).encode("utf-8", "replace")
        self._lines.clear()
        try:
            while data:
                data = data[os.write(self.fd, data) :]
        except OSError:
            pass  # a full disk or a closed stderr must not stop deliveries

    def flush(self) -> None:
        self.flush_now()

    def close(self) -> None:
        self.flush_now()
        super().close()


class _Formatter(logging.Formatter):
    """``2026-11-27 10:18:20,123Z INFO …``: UTC, as every time in the store and in
    ``--json`` (a local time without its zone could not be matched with them),
    the date part made once per second."""

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record.created))
        return f"{self._stamp},{int(record.msecs):03d}Z"


def _logging(log_file: str | None, level: str, processes: int = 1) -> _LineLog:
    if log_file:
        try:
            fd = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise click.BadParameter(f"{log_file}: {exc.strerror}", param_hint="--log-file") from None
    else:
        fd = sys.stderr.fileno()
    handler = _LineLog(fd)
    who = " [%(process)d]" if processes > 1 else ""
    handler.setFormatter(_Formatter(f"%(asctime)s %(levelname)s{who} %(message)s"))
    # One line per delivery: skip what this log never shows (the caller's file
    # and line, thread names), as the logging HOWTO suggests.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = processes > 1
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
@click.option(
    "--lease-seconds",
    type=click.FloatRange(1, 3600),
    default=None,
    help="How long a claim lasts without renewal (default 30).",
)
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes sharing the queue (the MTA connection limits hold "
    "across all of them); more than one uses more CPU cores.",
)
@click.option(
    "--log-file", type=click.Path(dir_okay=False), default=None, help="Append the log here instead of stderr."
)
@click.option("--log-level", type=click.Choice(LEVELS, case_sensitive=False), default="info", show_default=True)
@click.pass_context
def worker_cmd(
    ctx: click.Context,
    once: bool,
    lease_seconds: float | None,
    processes: int,
    log_file: str | None,
    log_level: str,
) -> None:
    """Deliver the mail queue over every enabled MTA (SIGTERM/SIGINT/SIGHUP: graceful stop).

    Tuning for tests and special cases comes from ERTUI_WORKER_<SETTING>
    variables, e.g. ERTUI_WORKER_BACKOFF_BASE=0 (see ertui.delivery.settings).
    """
    from ertui.delivery.worker import Worker, WorkerSettings

    if processes > 1 and not hasattr(os, "fork"):
        raise click.BadParameter("needs fork(), which this system lacks", param_hint="--processes")
    handler = _logging(log_file, log_level, processes)
    worker_settings = WorkerSettings.from_env(lease_seconds=lease_seconds)
    eng = engine(ctx)  # opened (and migrated) once, before any fork
    children: list[int] = []
    is_child = watch_parent = False
    parent = os.getpid()
    if processes > 1:
        eng.dispose()  # no pooled connection may cross a fork
        handler.flush_now()  # nor an unwritten log line
        for _ in range(processes - 1):
            pid = os.fork()
            if pid == 0:
                # Its own process group: a Ctrl-C reaches the parent only, which
                # passes each signal on once.
                os.setpgid(0, 0)
                is_child, children = True, []
                watch_parent = not _die_with_parent(parent)
                break
            children.append(pid)
    worker = Worker(eng, worker_settings)
    log = logging.getLogger("ertui.worker")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stops = 0

        def on_signal(sig: int) -> None:
            nonlocal stops
            stops += 1
            for pid in children:  # the parent passes the signal on
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            if stops == 1:
                log.info("stopping: finishing what is in flight (signal again to hurry)")
                worker.request_stop()
            else:
                log.info("stopping now: sends in flight are given back")
                worker.hurry()

        stop_on = [signal.SIGTERM, signal.SIGINT]
        if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # (nohup ignores it)
            stop_on.append(signal.SIGHUP)  # the SSH session dropped: stop as gracefully
        for sig in stop_on:
            loop.add_signal_handler(sig, on_signal, sig)

        async def flush_log() -> None:
            while True:
                await asyncio.sleep(_LineLog.interval)
                handler.flush_now()

        async def watch() -> None:  # where prctl is missing: poll for the parent
            while True:
                await asyncio.sleep(1.0)
                if os.getppid() != parent:
                    on_signal(signal.SIGTERM)
                    return

        flusher = asyncio.create_task(flush_log())
        watcher = asyncio.create_task(watch()) if watch_parent else None
        log.info("worker %s started%s", worker.id, " (once)" if once else "")
        try:
            await worker.run(once=once)
        finally:
            flusher.cancel()
            if watcher is not None:
                watcher.cancel()
        log.info("worker %s stopped", worker.id)
        handler.flush_now()

    # With the store on PostgreSQL, store calls run on a helper thread; a short
    # GIL switch interval keeps it from stalling the loop that drives the sessions.
    sys.setswitchinterval(0.0005)
    loop = _new_loop()
    try:
        loop.run_until_complete(main())
    except BaseException:
        if is_child:
            log.exception("worker process failed")
            handler.flush_now()
            os._exit(1)
        _end_children(children, signal.SIGTERM)
        raise
    finally:
        loop.close()
    if is_child:
        handler.flush_now()
        os._exit(0)
    if _end_children(children, None):
        raise SystemExit(1)


PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> bool:
    """In a forked worker: be sent SIGTERM (a graceful stop) when the parent dies,
    even by SIGKILL, so that no worker keeps running behind a dead ``ertui
    worker``. Linux's prctl(PR_SET_PDEATHSIG); False where that is missing (the
    worker then polls for its parent). A parent already gone: exit at once."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # it died before the prctl took hold
        os._exit(0)
    return armed


def _end_children(children: list[int], sig: int | None) -> bool:
    """Signal (optionally) and wait for the worker processes; True if one failed."""
    failed = False
    for pid in children:
        if sig is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        _, status = os.waitpid(pid, 0)
        failed = failed or os.waitstatus_to_exitcode(status) != 0
    return failed


def register(cli: click.Group) -> None:
    cli.add_command(worker_cmd)
