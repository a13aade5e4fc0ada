"""How ``ertui worker`` runs the delivery worker as processes: ``--processes``
forks (each child in its own process group, dying with its parent), the stop
signals (the first stops gracefully, the second hurries), a log handler that
writes whole lines at most every 0.2 s, and the event loop (uvloop when
installed). The command line only parses options and calls ``run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import queue
import signal
import sys
import threading
import time

from sqlalchemy.engine import Engine

from ertui.delivery.settings import WorkerSettings
from ertui.delivery.worker import Worker
from ertui.service.notify import logs_to_journal
from ertui.service.runtime import Service
from ertui.termsafe import terminal_safe

CAN_FORK = hasattr(os, "fork")
log = logging.getLogger("ertui.worker")


class LineLog(logging.Handler):
    """Log lines gathered and written through at most every 0.2 s, whole lines in
    one ``write`` to an append-mode file descriptor: one line per delivery at
    thousands per second would otherwise cost a system call each, and several
    worker processes (``--processes``) can share one file without cutting each
    other's lines. The worker command calls ``flush_now`` every 0.2 s; closing
    writes the rest.

    Logging never blocks delivery: the writes happen on a writer thread of
    their own, fed through a bounded queue. When the log cannot keep up — a
    pipe nobody reads (``ertui worker | less`` left alone), a stalled disk —
    the queue fills and further lines are dropped and counted, and a line says
    how many once writing works again."""

    interval = 0.2
    backlog = 256  # chunks (of up to 0.2 s of lines each) waiting for the writer

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        self._lines: list[str] = []
        self._last = time.monotonic()
        self._chunks: queue.Queue[tuple[bytes, int] | None] = queue.Queue(self.backlog)
        self._writer: threading.Thread | None = None
        self._writer_pid = 0
        self.dropped = 0  # lines not written because the log was blocked

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record) + "\n")
        except Exception:
            self.handleError(record)
            return
        if time.monotonic() - self._last >= self.interval:
            self.flush_now()

    def flush_now(self) -> None:
        """Hand the gathered lines to the writer thread; never waits for it."""
        self._last = time.monotonic()
        if not self._lines:
            return
        data = "".join(self._lines).encode("utf-8", "replace")
        count = len(self._lines)
        self._lines.clear()
        self._start_writer()
        try:
            self._chunks.put_nowait((data, count))
        except queue.Full:
            self.dropped += count

    def _start_writer(self) -> None:
        # One writer per process: a forked worker has none of its parent's threads.
        if self._writer is not None and self._writer_pid == os.getpid():
            return
        self._chunks = queue.Queue(self.backlog)
        self._writer_pid = os.getpid()
        self._writer = threading.Thread(target=self._write_chunks, name="ertui-log", daemon=True)
        self._writer.start()

    def _write_chunks(self) -> None:
        reported = 0
        while True:
            item = self._chunks.get()
            if item is None:
                return
            data, _ = item
            dropped = self.dropped
            if dropped > reported:
                note = f"(log: {dropped - reported} lines were dropped while the log could not be written)\n"
                data = note.encode() + data
                reported = dropped
            try:
                while data:
                    data = data[os.write(self.fd, data) :]
            except OSError:
                pass  # a full disk or a closed stderr must not stop deliveries

    def flush(self) -> None:
        self.flush_now()

    def drain(self, seconds: float = 2.0) -> None:
        """Wait (a little) for the writer to write what it was given."""
        self.flush_now()
        writer = self._writer
        if writer is None or self._writer_pid != os.getpid():
            return
        with contextlib.suppress(queue.Full):
            self._chunks.put(None, timeout=seconds)
        writer.join(seconds)
        self._writer = None

    def close(self) -> None:
        self.drain()
        super().close()


class UtcFormatter(logging.Formatter):
    """``2026-11-27 10:18:20,123Z INFO …``: UTC, as every time in the store and in
    ``--json`` (a local time without its zone could not be matched with them),
    the date part made once per second."""

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self._second = -1
        self._stamp = ""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return terminal_safe(super().formatMessage(record))  # server replies, addresses: text from outside

    def formatException(self, ei: logging._SysExcInfoType) -> str:
        return terminal_safe(super().formatException(ei), keep_newlines=True)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record.created))
        return f"{self._stamp},{int(record.msecs):03d}Z"


def open_log(path: str | None) -> int:
    """The file descriptor the log goes to: ``path`` opened for appending
    (owner-only when created), or stderr. Raises OSError."""
    if path:
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    return sys.stderr.fileno()


def setup_logging(fd: int, level: str, processes: int = 1) -> LineLog:
    """The ``ertui`` loggers write to ``fd`` through one ``LineLog``."""
    handler = LineLog(fd)
    who = " [%(process)d]" if processes > 1 else ""
    stamp = "" if logs_to_journal(fd) else "%(asctime)s "  # the journal stamps each line itself
    handler.setFormatter(UtcFormatter(f"{stamp}%(levelname)s{who} %(message)s"))
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


NO_UVLOOP = "ERTUI_NO_UVLOOP"


def uvloop_wanted() -> bool:
    """uvloop unless ``ERTUI_NO_UVLOOP=1`` (it is a dependency on Linux and macOS)."""
    return os.environ.get(NO_UVLOOP, "").strip() not in ("1", "true", "yes")


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop (a dependency on Linux and macOS), else asyncio's:
    on other systems, or with ``ERTUI_NO_UVLOOP=1``."""
    if uvloop_wanted():
        try:
            import uvloop
        except ImportError:
            pass
        else:
            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
            return loop
    return asyncio.new_event_loop()


def run(
    engine: Engine,
    settings: WorkerSettings,
    handler: LineLog,
    *,
    once: bool = False,
    processes: int = 1,
    service: Service | None = None,
) -> bool:
    """Run ``processes`` workers on the store until they stop; True if one failed.
    ``service`` (metrics, systemd notify, retention: ``ertui.service.runtime``)
    runs alongside the first process's worker only.

    The engine is opened (and migrated) once, before any fork. A forked child
    never returns: it exits with its own status."""
    children: list[int] = []
    is_child = watch_parent = False
    parent = os.getpid()
    if processes > 1:
        engine.dispose()  # no pooled connection may cross a fork
        handler.flush_now()  # nor an unwritten log line
        for _ in range(processes - 1):
            pid = os.fork()
            if pid == 0:
                # Its own process group: a Ctrl-C reaches the parent only, which
                # passes each signal on once.
                os.setpgid(0, 0)
                is_child, children = True, []
                watch_parent = not die_with_parent(parent)
                break
            children.append(pid)
    if is_child:
        service = None
    worker = Worker(engine, settings, on_event=service.event_listener() if service else None)
    # With the store on PostgreSQL, store calls run on a helper thread; a short
    # GIL switch interval keeps it from stalling the loop that drives the sessions.
    sys.setswitchinterval(0.0005)
    loop = new_loop()
    try:
        loop.run_until_complete(_serve(worker, handler, children, once, parent if watch_parent else None, service))
    except BaseException:
        if is_child:
            log.exception("worker process failed")
            handler.drain()
            os._exit(1)
        end_children(children, signal.SIGTERM)
        raise
    finally:
        loop.close()
    if is_child:
        handler.drain()
        os._exit(0)
    return end_children(children, None)


async def _serve(
    worker: Worker, handler: LineLog, children: list[int], once: bool, watch: int | None, service: Service | None
) -> None:
    """One worker until it stops: signals handled (and passed on to ``children``),
    the log flushed every 0.2 s, and (``watch``: the parent's pid, where prctl is
    missing) a stop when the parent is gone."""
    loop = asyncio.get_running_loop()
    stops = 0

    def on_signal(sig: int) -> None:
        nonlocal stops
        stops += 1
        for pid in children:  # the parent passes the signal on
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        if stops == 1:
            if service is not None:
                service.stopping()
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
            await asyncio.sleep(LineLog.interval)
            handler.flush_now()

    async def watch_parent(parent: int) -> None:  # where prctl is missing: poll for the parent
        while True:
            await asyncio.sleep(1.0)
            if os.getppid() != parent:
                on_signal(signal.SIGTERM)
                return

    flusher = asyncio.create_task(flush_log())
    watcher = asyncio.create_task(watch_parent(watch)) if watch is not None else None
    log.info("worker %s started%s", worker.id, " (once)" if once else "")
    if service is not None:
        service.start(worker)
    try:
        await worker.run(once=once)
    finally:
        if service is not None:
            await service.close()
        flusher.cancel()
        if watcher is not None:
            watcher.cancel()
    log.info("worker %s stopped", worker.id)
    handler.drain()


PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> bool:
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


def end_children(children: list[int], sig: int | None) -> bool:
    """Signal (optionally) and wait for the worker processes; True if one failed."""
    failed = False
    for pid in children:
        if sig is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        _, status = os.waitpid(pid, 0)
        failed = failed or os.waitstatus_to_exitcode(status) != 0
    return failed
