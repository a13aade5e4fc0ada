"""The worker's leases, fenced: what it holds, until when it surely holds it
(in memory, so checking costs no query), renewals that report what was lost,
and the worker table's news of dead and stopped workers on this host.

Every claimed message and every connection slot carries the generation of its
lease (``claims``, ``slots``). ``lease_ok`` says whether a message's lease
holds for ``lease_seconds / 3`` more — from its claim or the last renewal that
found it still held — and a connection asks before MAIL FROM and before DATA
(``ertui.delivery.connection``); a message that fails it is forgotten unsent.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from ertui.delivery import claims, slots, workers
from ertui.delivery.claims import Claimed
from ertui.delivery.pool import Conn, MtaPool
from ertui.delivery.results import ResultBook
from ertui.delivery.settings import WorkerSettings

log = logging.getLogger("ertui.worker")
R = TypeVar("R")


class Leases:
    """The lease half of the worker (see the module docstring)."""

    # Set by Worker.__init__.
    settings: WorkerSettings
    id: str
    _host: str
    _paused: bool
    _pool: MtaPool
    _line: deque[Claimed]
    _book: ResultBook
    _held: dict[int, Claimed]
    _orphans: list[tuple[int, int]]
    _live_here: frozenset[str]

    async def _db(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        raise NotImplementedError

    def _poke(self) -> None:
        raise NotImplementedError

    def _hold(self, got: list[Claimed]) -> None:
        for m in got:
            self._held[m.id] = m

    def _result(self, msg: Claimed, status: str, **kw: Any) -> dict[str, Any]:
        """The message's result, for the next write; it is no longer held."""
        if self._held.get(msg.id) is msg:
            del self._held[msg.id]
        row = claims.result_row(msg, self.id, status, **kw)
        self._book.results.append(row)
        return row

    def _forget(self, msg: Claimed, why: str | None) -> None:
        """A message whose lease is no longer surely this worker's: never sent,
        never written; its row goes to whoever holds it now (or is due again)."""
        if self._held.get(msg.id) is msg:
            del self._held[msg.id]
        with contextlib.suppress(ValueError):
            self._line.remove(msg)
        # Its row may still be this worker's (nobody else took it): given back
        # at the next renewal, guarded by its generation, so that it is due
        # again for every worker instead of waiting for this one to stop.
        self._orphans.append((msg.id, msg.gen))
        if why is not None:
            log.warning("dropped id=%d unsent: %s", msg.id, why)

    def _report_lost(self, lost: int) -> None:
        if lost:
            log.warning("%d results not written: their messages had passed to another claim", lost)

    def _margin(self) -> float:
        return self.settings.lease_seconds / 3

    def lease_ok(self, msg: Claimed) -> bool:
        """In memory, no query: this worker holds the message's lease for a
        margin more (its claim or last renewal, plus the lease)."""
        return self._held.get(msg.id) is msg and time.monotonic() + self._margin() < msg.valid_until

    def _slot_ok(self, conn: Conn) -> bool:
        return not conn.stale and time.monotonic() + self._margin() < conn.valid_until

    async def _renew(self) -> None:
        """Push on the leases; forget what was lost (fencing: see the module doc)."""
        s = self.settings
        start = time.monotonic()
        orphans, self._orphans = self._orphans, []
        try:
            held = await self._db(claims.renew, self.id, s.lease_seconds, self._paused, orphans)
        except Exception:
            self._orphans[:0] = orphans
            raise
        valid = start + s.lease_seconds
        lost = [m for m in self._held.values() if m.valid_until - s.lease_seconds < start and (m.id, m.gen) not in held]
        for m in self._held.values():
            if (m.id, m.gen) in held:
                m.valid_until = max(m.valid_until, valid)
        for m in lost:
            self._forget(m, None)
        if lost:
            ids = ", ".join(str(m.id) for m in lost[:10]) + (", …" if len(lost) > 10 else "")
            log.warning("%d claimed messages passed to another claim (ids %s): dropped unsent", len(lost), ids)
        kept = await self._db(slots.renew, self.id, s.lease_seconds)
        for st in self._pool.states.values():
            for c in st.conns:
                if c.slot_no is None or c.valid_until - s.lease_seconds >= start:
                    continue
                if (st.id, c.slot_no, c.gen) in kept:
                    c.valid_until = max(c.valid_until, valid)
                else:
                    c.stale = True  # someone else took the slot: close this one
                    c.valid_until = 0.0

    async def _look_around(self) -> None:
        """Give back what dead workers of this host left; note the live ones."""
        msgs, freed = await self._db(workers.reap, self._host, self.id)
        if msgs or freed:
            log.warning("a worker of this host is gone: %d messages and %d slots given back", msgs, freed)
            self._poke()
        self._live_here = await self._db(workers.live_here, self._host, self.id)
