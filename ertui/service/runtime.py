"""The service features that run alongside a worker in its process: the
``/metrics`` HTTP server (a thread), and on the worker's event loop the
systemd notify task (READY once the worker is registered in the store,
WATCHDOG=1 and STATUS lines from the loop, STOPPING on a stop signal) and the
retention task (at most once an hour, batch by batch). ``ertui.delivery.runner``
starts it in ONE place; it reads the worker only through ``WorkerView``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from wsgiref.simple_server import WSGIServer

from sqlalchemy import select
from sqlalchemy.engine import Engine

from ertui import audit
from ertui.service import retention
from ertui.service.metrics import Metrics
from ertui.service.notify import Notifier, watchdog_interval
from ertui.service.snapshot import take
from ertui.store.models import Mta, WorkerRecord

log = logging.getLogger("ertui.worker")
RETENTION_CHECK_SECONDS = 60.0
STATUS_SECONDS = 5.0


class WorkerView(Protocol):
    """What the service reads of ``ertui.delivery.Worker``."""

    @property
    def id(self) -> str: ...

    @property
    def paused(self) -> bool: ...

    def open_connections(self) -> dict[int, int]: ...


class EventView(Protocol):
    """What the service reads of ``ertui.delivery.settings.DeliveryEvent``."""

    @property
    def mta_id(self) -> int | None: ...

    @property
    def outcome(self) -> str: ...

    @property
    def at(self) -> datetime: ...

    @property
    def duration(self) -> float | None: ...


@dataclass(frozen=True)
class ServiceOptions:
    metrics_port: int | None = None
    metrics_address: str = "127.0.0.1"
    retention: bool = True


class Service:
    def __init__(self, engine: Engine, options: ServiceOptions, notifier: Notifier | None = None) -> None:
        self.engine = engine
        self.options = options
        self.notifier = notifier if notifier is not None else Notifier.from_env()
        self.metrics = Metrics(engine) if options.metrics_port is not None else None
        self._server: WSGIServer | None = None
        self._names: dict[int, str] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # -- before the loop -----------------------------------------------------------
    def start_metrics(self) -> int | None:
        """Bind the metrics server; its port (None without --metrics-port). Raises OSError."""
        if self.metrics is None or self.options.metrics_port is None:
            return None
        self._server, port = self.metrics.serve(self.options.metrics_address, self.options.metrics_port)
        return port

    # -- the worker's events (on its loop) --------------------------------------------
    def event_listener(self) -> Callable[[EventView], None] | None:
        """The worker's ``on_event``: None when nothing listens (no call per delivery then)."""
        return self.on_event if self.metrics is not None else None

    def on_event(self, event: EventView) -> None:
        if self.metrics is None:
            return
        mta = "" if event.mta_id is None else self._name(event.mta_id)
        self.metrics.observe(mta, event.outcome, event.duration)

    def _name(self, mta_id: int) -> str:
        name = self._names.get(mta_id)
        if name is None:  # an MTA added while running: one lookup, then remembered
            M = Mta.__table__  # type: ignore[attr-defined]
            try:
                with self.engine.connect() as conn:
                    found = conn.execute(select(M.c.description).where(M.c.id == mta_id)).scalar()
            except Exception:
                found = None
            name = self._names[mta_id] = str(found) if found is not None else f"#{mta_id}"
        return name

    # -- on the loop -------------------------------------------------------------------
    def start(self, worker: WorkerView) -> None:
        loop = asyncio.get_running_loop()
        if self.notifier is not None or self.metrics is not None:
            self._tasks.append(loop.create_task(self._watch(worker)))
        if self.options.retention:
            self._tasks.append(loop.create_task(self._retention()))

    def stopping(self) -> None:
        if self.notifier is not None:
            self.notifier.stopping()

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.to_thread(server.shutdown)
            server.server_close()

    async def _registered(self, worker: WorkerView) -> None:
        """Until the worker's row is in the store: it has opened the store and started."""
        W = WorkerRecord.__table__  # type: ignore[attr-defined]
        while True:
            try:
                with self.engine.connect() as conn:
                    if conn.execute(select(W.c.id).where(W.c.id == worker.id)).first() is not None:
                        return
            except Exception:
                log.debug("waiting for the worker to register", exc_info=True)
            await asyncio.sleep(0.1)

    async def _watch(self, worker: WorkerView) -> None:
        await self._registered(worker)
        self._refresh_names()
        if self.notifier is not None:
            self.notifier.ready()
        beat = watchdog_interval()
        next_status = 0.0
        loop = asyncio.get_running_loop()
        while True:
            if self.metrics is not None:
                self.metrics.set_live(worker.paused, worker.open_connections())
            if self.notifier is not None:
                self.notifier.watchdog()
                if loop.time() >= next_status:
                    next_status = loop.time() + STATUS_SECONDS
                    with contextlib.suppress(Exception):  # the store briefly away: the next one
                        snap = await asyncio.to_thread(take, self.engine)
                        self._names.update({m.id: m.description for m in snap.mtas})
                        paused = " (paused)" if worker.paused else ""
                        self.notifier.status(snap.status_line() + paused)
            await asyncio.sleep(min(beat, 1.0) if self.metrics is not None else beat)

    def _refresh_names(self) -> None:
        with contextlib.suppress(Exception):
            self._names.update({m.id: m.description for m in take(self.engine).mtas})

    async def _retention(self) -> None:
        while True:
            try:
                if await asyncio.to_thread(retention.due, self.engine):
                    await self._purge()
            except Exception:
                log.exception("retention failed; trying again within the hour")
            await asyncio.sleep(RETENTION_CHECK_SECONDS)

    async def _purge(self) -> None:
        total = 0
        for guard in await asyncio.to_thread(retention.guards, self.engine):
            while n := await asyncio.to_thread(retention.purge_batch, self.engine, guard):
                total += n
                await asyncio.sleep(0.05)  # let the worker write between batches
        if total:
            log.info("retention: purged %d old messages", total)
        await asyncio.to_thread(audit.expire, self.engine)
