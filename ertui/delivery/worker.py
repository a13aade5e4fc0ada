"""The delivery worker: claims due messages and sends them over every enabled MTA.

How it works (one asyncio task per open SMTP connection, one dispatcher):

- The dispatcher claims due messages in batches (``ertui.delivery.claims.claim``, an
  atomic ``UPDATE … RETURNING``) into one shared in-memory line. Every open
  connection takes the next message from that line as soon as it is free, so
  the MTAs share the queue by free capacity: two equal MTAs each carry about
  half, an MTA with more connections carries more.
- Before opening a connection the worker leases a slot of that MTA in the
  store (``ertui.delivery.slots``), so the MTA's max concurrent connections holds across
  every worker process. Connections stay open for message after message and
  close after ``idle_close_seconds`` without work or ``messages_per_connection``
  messages.
- A failure of the MTA itself (refused, timeout, TLS, authentication, a 421
  greeting, a disconnect) sends the message straight back to the line for
  another MTA, and the failing MTA cools down (``cooldown_base`` doubling up to
  ``cooldown_max``, recorded on the MTA with its last error). When no healthy
  MTA is left for a message it is released as ``deferred`` until the earliest
  cooldown ends; such attempts never fail a message (only its lifetime does).
- A temporary failure of the message (4xx to MAIL, RCPT or DATA) defers it:
  ``backoff_base`` doubling up to ``backoff_max``; a permanent one (5xx) fails
  it at once; past its lifetime or ``max_attempts`` it fails with that reason
  (these rules: ``ertui.delivery.policy``; the operator's values, reread every
  ``policy_reload`` seconds: ``ertui.delivery_policy``).
- Each connection runs in ``ertui.delivery.connection``; this module is the
  dispatcher, the result writer and the lease renewer.
- Results are written in batches: one transaction every ``flush_every``
  results or ``flush_interval`` seconds, whichever comes first (or together
  with the next claim, in its transaction). On SQLite the store calls run
  inline on the event loop (a few milliseconds each); on PostgreSQL on a helper
  thread (``db_thread``).
- Leases (messages and slots) are renewed every ``lease_seconds / 3``, and
  fenced: every claim and slot lease carries a generation, a renewal returns
  what is still held and the worker forgets the rest, and results are written
  only where owner and generation still match. Before each MAIL FROM (and
  again before DATA) a connection checks in memory that the message's lease
  and its slot's lease hold for ``lease_seconds / 3`` more (``lease_ok``); if
  not, the message is dropped unsent and the connection closed.
- A worker killed with SIGKILL stops renewing: a worker on the same host
  gives its messages and slots back at once (its pid is gone, or reused:
  ``ertui.delivery.workers``), at start and at every renewal; workers on other
  hosts take them ``lease_seconds`` later. A worker stopped with SIGSTOP on
  this host keeps its leases while it lives (its sockets are open).
- A stop (SIGTERM) cancels connection attempts and idle connections at once
  and waits only for messages in flight, at most the MTA's timeout.

Crash-repeat bound: a message is delivered twice only if its worker dies after
the server accepted it and before the result was written. With batched
results that window holds at most about ``flush_every`` results plus the ones
that arrive while a batch is being written, plus one in-flight message per open
connection: with the defaults (100 results / 0.2 s) and 10 connections, a
SIGKILL repeats at most ~100 + 10 deliveries (and far fewer at moderate rates,
since a batch is written every 0.2 s). A graceful stop (SIGTERM/SIGINT,
``request_stop``) repeats none. A worker that is stopped (SIGSTOP) or whose
log cannot be written repeats none either: on this host its leases are kept
while it lives; from another host, only one that stopped inside the last
round trip of DATA for longer than the lease can repeat that one message.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from secrets import token_hex
from typing import Any

from sqlalchemy.engine import Engine

from ertui import delivery_policy, mtas, settings
from ertui.delivery import claims, slots, workers
from ertui.delivery import policy as verdicts
from ertui.delivery.claims import Claimed
from ertui.delivery.connection import Connections, log
from ertui.delivery.pool import Conn, MtaPool, MtaState
from ertui.delivery.results import RecentDeliveries, ResultBook
from ertui.delivery.settings import DeliveryEvent, WorkerSettings
from ertui.store.models import MessageStatus, Mta
from ertui.timeutil import utcnow

__all__ = ["DeliveryEvent", "Worker", "WorkerSettings"]


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Until the event is set or the timeout passes, whichever comes first."""
    if event.is_set():
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


class Worker(Connections):
    """The dispatcher: claims, hands out, opens connections (``Connections`` runs
    each), writes results, renews leases; paused, resumed and stopped from outside."""

    def __init__(
        self,
        engine: Engine,
        settings: WorkerSettings | None = None,
        *,
        on_event: Callable[[DeliveryEvent], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings or WorkerSettings()
        self.on_event = on_event
        self.id = f"{socket.gethostname()[:40]}:{os.getpid()}:{token_hex(4)}"
        self._host = socket.gethostname()[:255]
        self._held: dict[int, Claimed] = {}
        self._orphans: list[tuple[int, int]] = []
        self._live_here: frozenset[str] = frozenset()
        self._paused = False
        self._stopping = False
        self._closing = False
        self._pool = MtaPool()
        self._line: deque[Claimed] = deque()
        self._book = ResultBook()
        self._recent = RecentDeliveries()
        self._tasks: set[asyncio.Task[None]] = set()
        self._executor: ThreadPoolExecutor | None = None
        self._helo = ""  # set when the worker starts: settings.helo_name, never "localhost"
        self._next_refresh = self._next_claim = self._next_policy = 0.0
        self._last_claim_empty = False

    # -- public controls ---------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        self._paused = True
        self._poke()

    def resume(self) -> None:
        self._paused = False
        self._poke()

    def request_stop(self) -> None:
        """Stop claiming, finish what is in flight, give back the rest, return from run."""
        self._stopping = True
        self._poke()

    def hurry(self) -> None:
        """During a stop: stop waiting for sends in flight (they are given back)."""
        self._stopping = True
        loop: asyncio.AbstractEventLoop | None = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._hurry.set)

    def open_connections(self) -> dict[int, int]:
        """Connections this process holds now, per MTA id."""
        return self._pool.open_connections()

    def recent_deliveries(self, mta_id: int, minutes: int = 10) -> list[int]:
        """Messages sent through the MTA per minute, oldest minute first."""
        return self._recent.per_minute(mta_id, minutes)

    # -- plumbing ------------------------------------------------------------------
    def _poke(self) -> None:
        """Wake the dispatcher; safe from any thread and from signal handlers."""
        loop: asyncio.AbstractEventLoop | None = getattr(self, "_loop", None)
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- main loop -------------------------------------------------------------------
    async def run(self, once: bool = False) -> None:
        """Deliver until ``request_stop`` (or, with ``once``, until nothing is due)."""
        threaded = self.settings.db_thread
        if threaded is None:
            threaded = self.engine.dialect.name != "sqlite"
        if threaded:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="ertui-db")
        self._loop = asyncio.get_running_loop()
        self._low = self.settings.batch_size // 2
        self._wake = asyncio.Event()
        self._cond = asyncio.Condition()
        self._flush_wanted = asyncio.Event()
        self._hurry = asyncio.Event()
        self._helo = settings.helo_name(self.engine)  # never "localhost" (ertui.settings)
        await self._db(workers.register, self.id, self._host, os.getpid())
        await self._look_around()
        flusher = asyncio.create_task(self._flusher())
        renewer = asyncio.create_task(self._renewer())
        try:
            await self._dispatch(once)
        finally:
            await self._shutdown(flusher, renewer)

    async def _dispatch(self, once: bool) -> None:
        while not self._stopping:
            self._wake.clear()  # anything that happens during the step wakes the wait
            try:
                if await self._dispatch_step(once):
                    return
            except Exception:
                # The store may be briefly unreachable or locked: say so, go on.
                log.exception("dispatching failed; trying again")
                self._next_claim = time.monotonic() + self.settings.poll_interval
            await _wait(self._wake, self.settings.poll_interval)

    async def _dispatch_step(self, once: bool) -> bool:
        """One round: refresh, claim, hand out, open connections. True: --once is done."""
        s = self.settings
        mono = time.monotonic()
        if mono >= self._next_refresh:
            await self._refresh_mtas()
            self._next_refresh = mono + s.poll_interval
        if s.from_store and mono >= self._next_policy:  # the operator's policy, without a restart
            self._next_policy = mono + s.policy_reload
            for change in s.apply_policy(await self._db(delivery_policy.stored)):
                log.info("delivery policy: %s", change)
        now = utcnow()
        usable = self._pool.usable(now)
        claim_size = await self._claim_size(usable) if usable and not self._paused else 0
        self._low = claim_size  # refill early: keep up to two claims' worth in hand
        if self._paused:
            self._release_line()
            await self._wake_conns()
        elif claim_size and len(self._line) < self._low and mono >= self._next_claim:
            taken = self._book.take()
            try:
                lost, got = await self._db(
                    claims.write_and_claim, *taken, self.id, claim_size, s.lease_seconds, self._live_here
                )
            except Exception:
                self._book.put_back(taken)
                raise
            self._report_lost(lost)
            self._hold(got)
            self._last_claim_empty = not got
            if not got:
                self._next_claim = mono + s.poll_interval
            for msg in got:
                if msg.expires_at <= utcnow():
                    self._finish_expired(msg)
                else:
                    self._line.append(msg)
            if got:
                await self._wake_conns()
        await self._release_stranded(usable)
        self._open_connections(usable)
        self._release_if_no_slot(usable)
        nothing_due = self._last_claim_empty or not usable or self._paused
        if once and nothing_due and not self._line and not self._busy():
            # Results may make something due again (a zero backoff): write, then look.
            await self._flush()
            if not usable or self._paused:
                return True
            size = claim_size or 1  # (with rate limits: what their buckets hold)
            again = await self._db(claims.claim, self.id, size, s.lease_seconds, self._live_here)
            if not again:
                return True
            self._hold(again)
            self._last_claim_empty = False
            self._line.extend(again)
            self._wake.set()
            await self._wake_conns()
        return False

    def _release_if_no_slot(self, usable: list[MtaState]) -> None:
        """Other workers hold every slot: give our claimed messages back to them."""
        if not self._line or any(st.conns for st in usable):
            return
        mono = time.monotonic()
        if usable and all(st.slots_full_until > mono for st in usable):
            self._release_line()
            self._next_claim = mono + self.settings.poll_interval

    def _release_line(self) -> None:
        """Claimed but not started: back to the queue, due as they were."""
        if not self._line:
            return
        now = utcnow()
        while self._line:
            m = self._line.popleft()
            status = MessageStatus.QUEUED if m.attempts + m.tries == 0 else MessageStatus.DEFERRED
            self._result(m, status.value, now=now)
        self._flush_wanted.set()

    def _busy(self) -> bool:
        return self._pool.busy()

    async def _refresh_mtas(self) -> None:
        rows: list[Mta] = await self._db(mtas.list_mtas)
        if self._pool.update(rows):
            await self._wake_conns()
        for st in self._pool.unbuildable(utcnow()):
            # Down as surely as a refused connection: cool down, with the reason
            # on the MTA (and so in `queue stats`), rather than mail waiting silently.
            error = st.config_error or "its settings cannot be used"
            st.cooldown_until = await self._db(mtas.record_failure, st.id, error, cooldown=self._cooldown)
            log.warning("mta_error mta=%r: %s", st.name, error)

    def _open_connections(self, usable: list[MtaState]) -> None:
        """Open connections while messages wait and no connection is free for them."""
        if self._paused or not self._line:
            return
        mono = time.monotonic()
        free = sum(1 for st in usable for c in st.conns if not c.busy and not c.stale)
        want = len(self._line) - free
        candidates = [
            st
            for st in usable
            if len(st.conns) < st.row.max_connections and st.slots_full_until <= mono and st.rate_wait_until <= mono
        ]
        while want > 0 and candidates:
            for st in list(candidates):
                if want <= 0:
                    break
                if not any(st.id not in m.excluded for m in self._line):
                    candidates.remove(st)
                    continue
                conn = Conn(st, st.key)
                st.conns.add(conn)
                conn.task = self._spawn(self._connection(conn))
                want -= 1
                if len(st.conns) >= st.row.max_connections:
                    candidates.remove(st)

    async def _release_stranded(self, usable: list[MtaState]) -> None:
        """Messages no usable MTA may take (all failed for them) go back, deferred."""
        ids = {st.id for st in usable}
        stranded = [m for m in self._line if not (ids - m.excluded)]
        if not stranded:
            return
        for m in stranded:
            self._line.remove(m)
        ends = [
            st.cooldown_until for st in self._pool.states.values() if st.row.enabled and st.cooldown_until is not None
        ]
        now = utcnow()
        for m in stranded:
            tried = m.attempts + m.tries > 0
            next_at = verdicts.stranded_next_attempt(m, ends, self.settings.cooldown_base, now)
            status = MessageStatus.DEFERRED if tried else MessageStatus.QUEUED
            self._result(m, status.value, now=now, next_at=next_at)
            when = (next_at or m.next_attempt_at).isoformat(timespec="seconds")
            log.info("%s id=%d to=%s: no healthy MTA left; next attempt %s", status.value, m.id, m.recipient, when)
            if tried:
                self._emit(m, m.last_mta_id, "deferred", m.last_error or "no healthy MTA left")
        self._flush_wanted.set()

    def _finish_expired(self, msg: Claimed) -> None:
        msg.last_error = verdicts.expired_error(msg)
        now = utcnow()
        self._result(msg, MessageStatus.FAILED.value, now=now)
        log.info("failed id=%d to=%s: %s", msg.id, msg.recipient, msg.last_error)
        self._emit(msg, None, "failed", msg.last_error)

    # -- background: results and leases -------------------------------------------
    async def _flush(self) -> None:
        if self._book.empty():
            return
        taken = self._book.take()
        try:
            lost = await self._db(claims.write, *taken)
        except Exception:
            self._book.put_back(taken)
            raise
        self._report_lost(lost)

    async def _flusher(self) -> None:
        while not self._closing:
            await _wait(self._flush_wanted, self.settings.flush_interval)
            self._flush_wanted.clear()
            try:
                await self._flush()
            except Exception:
                log.exception("writing results failed; retrying")
                await asyncio.sleep(self.settings.flush_interval)

    async def _renewer(self) -> None:
        s = self.settings
        while True:
            await asyncio.sleep(max(0.05, s.lease_seconds / 3))
            try:
                await self._renew()
                await self._look_around()
            except Exception:
                log.exception("renewing leases failed")

    async def _shutdown(self, flusher: asyncio.Task[None], renewer: asyncio.Task[None]) -> None:
        self._stopping = True
        self._release_line()
        # Connection attempts and idle connections carry no message: end them now.
        for st in self._pool.states.values():
            for c in st.conns:
                if not c.busy and c.task is not None:
                    c.task.cancel()
        await self._wake_conns()
        conns = [t for t in self._tasks if not t.done()]
        loop = asyncio.get_running_loop()
        # A message in flight ends within its MTA's timeout (one deadline per step).
        busy = [c.mta.row.timeout for st in self._pool.states.values() for c in st.conns if c.busy]
        wait = min(self.settings.stop_timeout, 3 * max(busy, default=0.0) + 1.0)
        deadline = loop.time() + wait
        hurry = asyncio.ensure_future(self._hurry.wait())
        try:
            while True:
                pending = [t for t in conns if not t.done()]
                left = deadline - loop.time()
                if not pending or self._hurry.is_set() or left <= 0:
                    break
                await asyncio.wait([*pending, hurry], timeout=left, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hurry.cancel()
        for t in pending:
            t.cancel()  # their messages are given back below (release_held)
        if pending:
            await asyncio.wait(pending, timeout=5)
        self._closing = True
        self._flush_wanted.set()
        renewer.cancel()
        await asyncio.gather(flusher, renewer, return_exceptions=True)
        await self._flush()
        await self._db(claims.release_held, self.id)
        await self._db(slots.release_all, self.id)
        await self._db(workers.unregister, self.id)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
