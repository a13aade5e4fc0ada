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
  (these rules: ``ertui.delivery.policy``).
- Results are written in batches: one transaction every ``flush_every``
  results or ``flush_interval`` seconds, whichever comes first (or together
  with the next claim, in its transaction). On SQLite the store calls run
  inline on the event loop (a few milliseconds each); on PostgreSQL on a helper
  thread (``db_thread``).
- Leases (messages and slots) are renewed every ``lease_seconds / 3``; a
  worker killed with SIGKILL stops renewing, and ``lease_seconds`` later its
  messages are due again for any other worker.

Crash-repeat bound: a message is delivered twice only if its worker dies after
the server accepted it and before the result was written. With batched
results that window holds at most about ``flush_every`` results plus the ones
that arrive while a batch is being written, plus one in-flight message per open
connection: with the defaults (100 results / 0.2 s) and 10 connections, a
SIGKILL repeats at most ~100 + 10 deliveries (and far fewer at moderate rates,
since a batch is written every 0.2 s). A graceful stop (SIGTERM/SIGINT,
``request_stop``) repeats none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from secrets import token_hex
from typing import Any, TypeVar

from sqlalchemy.engine import Engine

from ertui import mtas, settings
from ertui.delivery import claims, slots
from ertui.delivery import policy as verdicts
from ertui.delivery.claims import Claimed
from ertui.delivery.pool import Conn, MtaPool, MtaState
from ertui.delivery.results import RecentDeliveries, ResultBook
from ertui.delivery.settings import DeliveryEvent, WorkerSettings
from ertui.store.models import MessageStatus, Mta
from ertui.timeutil import utcnow

__all__ = ["DeliveryEvent", "Worker", "WorkerSettings"]

log = logging.getLogger("ertui.worker")
# A library's logger: silent unless the program configures logging (the worker
# command does; the console must not get stray lines on its screen).
log.addHandler(logging.NullHandler())
R = TypeVar("R")


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Until the event is set or the timeout passes, whichever comes first."""
    if event.is_set():
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


class Worker:
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
        self._paused = False
        self._stopping = False
        self._closing = False
        self._pool = MtaPool()
        self._line: deque[Claimed] = deque()
        self._book = ResultBook()
        self._recent = RecentDeliveries()
        self._tasks: set[asyncio.Task[None]] = set()
        self._executor: ThreadPoolExecutor | None = None
        self._helo = "localhost"
        self._next_refresh = self._next_claim = 0.0
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
    async def _db(self, fn: Callable[..., R], *args: Any) -> R:
        """Run a store call: on the helper thread, or inline for SQLite (see db_thread)."""
        if self._executor is None:
            return fn(self.engine, *args)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, self.engine, *args))

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

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _emit(self, msg: Claimed, mta_id: int | None, outcome: str, detail: str) -> None:
        if outcome == "sent" and mta_id is not None:
            self._recent.add(mta_id)
        if self.on_event is not None:
            try:
                self.on_event(DeliveryEvent(msg.id, mta_id, outcome, detail, utcnow()))
            except Exception:  # a listener must not stop deliveries
                log.exception("delivery event listener failed")

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
        self._helo = settings.master_host(self.engine).name
        await self._db(claims.register_worker, self.id, socket.gethostname()[:255], os.getpid())
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
        now = utcnow()
        usable = self._pool.usable(now)
        capacity = sum(st.row.max_connections for st in usable)
        claim_size = max(s.batch_size, 4 * capacity)
        self._low = claim_size  # refill early: keep up to two claims' worth in hand
        if self._paused:
            self._release_line()
            await self._wake_conns()
        elif usable and len(self._line) < self._low and mono >= self._next_claim:
            taken = self._book.take()
            try:
                got = await self._db(claims.write_and_claim, *taken, self.id, claim_size, s.lease_seconds)
            except Exception:
                self._book.put_back(taken)
                raise
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
            again = await self._db(claims.claim, self.id, s.batch_size, s.lease_seconds)
            if not again:
                return True
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
            self._book.results.append(claims.result_row(m, self.id, status.value, now=now))
        self._flush_wanted.set()

    def _busy(self) -> bool:
        return self._pool.busy()

    async def _wake_conns(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def _refresh_mtas(self) -> None:
        rows: list[Mta] = await self._db(mtas.list_mtas)
        if self._pool.update(rows):
            await self._wake_conns()
        for st in self._pool.unbuildable(utcnow()):
            # Down as surely as a refused connection: cool down, with the reason
            # on the MTA (and so in `queue stats`), rather than mail waiting silently.
            error = st.config_error or "its settings cannot be used"
            st.cooldown_until = await self._db(
                claims.mta_failed, st.id, error, self.settings.cooldown_base, self.settings.cooldown_max
            )
            log.warning("mta_error mta=%r: %s", st.name, error)

    def _open_connections(self, usable: list[MtaState]) -> None:
        """Open connections while messages wait and no connection is free for them."""
        if self._paused or not self._line:
            return
        mono = time.monotonic()
        free = sum(1 for st in usable for c in st.conns if not c.busy and not c.stale)
        want = len(self._line) - free
        candidates = [st for st in usable if len(st.conns) < st.row.max_connections and st.slots_full_until <= mono]
        while want > 0 and candidates:
            for st in list(candidates):
                if want <= 0:
                    break
                if not any(st.id not in m.excluded for m in self._line):
                    candidates.remove(st)
                    continue
                conn = Conn(st, st.key)
                st.conns.add(conn)
                self._spawn(self._connection(conn))
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
            self._book.results.append(claims.result_row(m, self.id, status.value, now=now, next_at=next_at))
            when = (next_at or m.next_attempt_at).isoformat(timespec="seconds")
            log.info("%s id=%d to=%s: no healthy MTA left; next attempt %s", status.value, m.id, m.recipient, when)
            if tried:
                self._emit(m, m.last_mta_id, "deferred", m.last_error or "no healthy MTA left")
        self._flush_wanted.set()

    def _finish_expired(self, msg: Claimed) -> None:
        msg.last_error = verdicts.expired_error(msg)
        now = utcnow()
        self._book.results.append(claims.result_row(msg, self.id, MessageStatus.FAILED.value, now=now))
        log.info("failed id=%d to=%s: %s", msg.id, msg.recipient, msg.last_error)
        self._emit(msg, None, "failed", msg.last_error)

    # -- one connection ----------------------------------------------------------------
    async def _next_for(self, conn: Conn) -> Claimed | None:
        """The next message this connection may send, waiting up to the idle time."""
        mta_id = conn.mta.id
        deadline = time.monotonic() + self.settings.idle_close_seconds
        while True:
            if self._stopping or self._paused or conn.stale or not conn.mta.usable(utcnow()):
                return None
            for i, msg in enumerate(self._line):
                if mta_id not in msg.excluded:
                    del self._line[i]
                    if len(self._line) < self._low:
                        self._wake.set()
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            conn.idle = True
            self._wake.set()
            try:
                async with self._cond, asyncio.timeout(left):
                    await self._cond.wait()
            except TimeoutError:
                pass
            finally:
                conn.idle = False

    async def _connection(self, conn: Conn) -> None:
        try:
            await self._connection_inner(conn)
        except Exception:  # e.g. the store went away while leasing a slot
            log.exception("a connection to %r ended with an error", conn.mta.name)
            conn.mta.conns.discard(conn)
            self._wake.set()

    async def _connection_inner(self, conn: Conn) -> None:
        from ertui.smtp.session import SmtpSession  # the transport; imported late (it is large)

        st = conn.mta
        s = self.settings
        session: Any = None
        try:
            slot = await self._db(slots.acquire, st.id, st.row.max_connections, self.id, s.lease_seconds)
            if slot is None:
                st.slots_full_until = time.monotonic() + s.poll_interval
                return
            conn.slot_no = slot
            if st.config is None:  # it became unusable meanwhile
                return
            session = SmtpSession(st.config, self._helo)
            opened = False
            sent_here = 0
            while sent_here < s.messages_per_connection:
                if not opened:
                    # Only open once there is something to send.
                    if not any(st.id not in m.excluded for m in self._line):
                        break
                    outcome = await session.open()
                    if not outcome.ok:
                        await self._mta_down(st, outcome, None, 0.0)
                        return
                    opened = True
                msg = await self._next_for(conn)
                if msg is None:
                    break
                conn.busy = True
                try:
                    ok = await self._deliver(conn, session, msg, reused=sent_here > 0)
                except Exception:
                    # Not an SMTP outcome (those never raise): keep the message, let
                    # another connection or MTA have it, and end this connection.
                    log.exception("delivering id=%d through %r failed", msg.id, st.row.description)
                    msg.excluded.add(st.id)
                    self._line.appendleft(msg)
                    return
                finally:
                    conn.busy = False
                if not ok:
                    return
                sent_here += 1
        finally:
            st.conns.discard(conn)
            if session is not None:
                try:
                    await session.close()
                except Exception:
                    log.debug("closing a session failed", exc_info=True)
            self._wake.set()
            if conn.slot_no is not None:  # (a slot left behind runs out with its lease)
                await self._db(slots.release, st.id, conn.slot_no, self.id)

    async def _deliver(self, conn: Conn, session: Any, msg: Claimed, reused: bool) -> bool:
        """Send one message; False when the connection must end (the MTA failed)."""
        st = conn.mta
        started = utcnow()
        t0 = time.monotonic()
        outcome = await session.send(msg.sender, msg.recipient, msg.raw)
        if not outcome.ok and outcome.mta_failure and reused:
            # A reused connection may have been closed by the server meanwhile:
            # one fresh connection to the same MTA before calling it down.
            await session.close()
            outcome = await session.send(msg.sender, msg.recipient, msg.raw)
        elapsed = time.monotonic() - t0
        msg.tries += 1
        msg.last_mta_id = st.id
        self._book.attempts.append(verdicts.attempt_row(msg, st.id, st.name, started, elapsed, outcome))
        now = utcnow()
        if outcome.ok:
            text = outcome.message or ""
            msg.last_error = None
            self._book.results.append(
                claims.result_row(msg, self.id, MessageStatus.SENT.value, now=now, reply=text[: verdicts.TEXT_LIMIT])
            )
            self._book.success(st.id, now)
            log.info("sent id=%d to=%s mta=%r reply=%r", msg.id, msg.recipient, st.name, text)
            self._emit(msg, st.id, "sent", text)
        elif outcome.mta_failure:
            await self._mta_down(st, outcome, msg, elapsed)
            return False
        else:
            verdict = verdicts.after_refusal(msg, outcome, self.settings, now)
            msg.last_error = verdict.error
            if verdict.next_at is None:
                self._fail(msg, verdict.error)
            else:
                self._book.results.append(
                    claims.result_row(msg, self.id, verdict.status.value, now=now, next_at=verdict.next_at)
                )
                log.info(
                    "deferred id=%d to=%s mta=%r next=%s: %s",
                    msg.id,
                    msg.recipient,
                    st.name,
                    verdict.next_at.isoformat(timespec="seconds"),
                    verdict.error,
                )
                self._emit(msg, st.id, "deferred", verdict.error)
        if len(self._book) >= self.settings.flush_every:
            self._flush_wanted.set()
        return True

    def _fail(self, msg: Claimed, error: str) -> None:
        msg.last_error = error
        self._book.results.append(claims.result_row(msg, self.id, MessageStatus.FAILED.value, now=utcnow()))
        log.info("failed id=%d to=%s: %s", msg.id, msg.recipient, error)
        self._emit(msg, msg.last_mta_id, "failed", error)

    async def _mta_down(self, st: MtaState, outcome: Any, msg: Claimed | None, elapsed: float) -> None:
        """The MTA failed: cool it down, hand the message to another MTA at once."""
        error = verdicts.error_text(outcome)
        if st.cooldown_until is None or st.cooldown_until <= utcnow():
            until = await self._db(
                claims.mta_failed, st.id, error, self.settings.cooldown_base, self.settings.cooldown_max
            )
            st.cooldown_until = until
            log.warning(
                "mta_error mta=%r: %s; cooling down until %s",
                st.row.description,
                error,
                until.isoformat(timespec="seconds") if until else "-",
            )
        for c in st.conns:
            c.stale = True
        if msg is not None:
            msg.excluded.add(st.id)
            msg.last_error = f"{st.row.description}: {error}"
            self._line.appendleft(msg)
            self._emit(msg, st.id, "mta_error", error)
            await self._wake_conns()
        self._wake.set()

    # -- background: results and leases -------------------------------------------
    async def _flush(self) -> None:
        if self._book.empty():
            return
        taken = self._book.take()
        try:
            await self._db(claims.write, *taken)
        except Exception:
            self._book.put_back(taken)
            raise

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
                await self._db(claims.renew, self.id, s.lease_seconds, self._paused)
                held = await self._db(slots.renew, self.id, s.lease_seconds)
            except Exception:
                log.exception("renewing leases failed")
                continue
            for st in self._pool.states.values():
                for c in st.conns:
                    if c.slot_no is not None and (st.id, c.slot_no) not in held:
                        c.stale = True  # someone else took the slot: close this one

    async def _shutdown(self, flusher: asyncio.Task[None], renewer: asyncio.Task[None]) -> None:
        self._stopping = True
        self._release_line()
        await self._wake_conns()
        conns = [t for t in self._tasks if not t.done()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.stop_timeout
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
        await self._db(claims.unregister_worker, self.id)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
