"""One SMTP connection of the worker: lease a slot of its MTA, open a session,
send message after message from the shared line, and judge each outcome (sent,
deferred, failed; an MTA failure cools the MTA down and hands the message back
to the line for another MTA).

The dispatcher (``ertui.delivery.worker.Worker``) decides when to open a
connection; this base class runs one, with the state they share declared here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import Engine

from ertui import mtas
from ertui.delivery import claims, ratelimit, slots
from ertui.delivery import policy as verdicts
from ertui.delivery.claims import Claimed
from ertui.delivery.leases import Leases
from ertui.delivery.pool import Conn, MtaState
from ertui.delivery.results import RecentDeliveries, ResultBook
from ertui.delivery.settings import DeliveryEvent, WorkerSettings
from ertui.smtp.transcript import Redactor
from ertui.store.models import MessageStatus
from ertui.timeutil import utcnow

if TYPE_CHECKING:
    from ertui.smtp.outcome import Outcome
    from ertui.smtp.session import SmtpSession

log = logging.getLogger("ertui.worker")
# A library's logger: silent unless the program configures logging (the worker
# command does; the console must not get stray lines on its screen).
log.addHandler(logging.NullHandler())
R = TypeVar("R")


class Connections(Leases):
    """The connection half of the worker (see the module docstring)."""

    # Set by Worker.__init__ and Worker.run.
    engine: Engine
    settings: WorkerSettings
    on_event: Callable[[DeliveryEvent], None] | None
    id: str
    _paused: bool
    _stopping: bool
    _line: deque[Claimed]
    _book: ResultBook
    _recent: RecentDeliveries
    _executor: ThreadPoolExecutor | None
    _helo: str
    _low: int
    _wake: asyncio.Event
    _cond: asyncio.Condition
    _flush_wanted: asyncio.Event

    async def _db(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run a store call: on the helper thread, or inline for SQLite (see db_thread)."""
        if self._executor is None:
            return fn(self.engine, *args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, self.engine, *args, **kwargs))

    def _cooldown(self, failures: int) -> float:
        return verdicts.mta_cooldown(self.settings, failures)

    def _emit(self, msg: Claimed, mta_id: int | None, outcome: str, detail: str, duration: float | None = None) -> None:
        if outcome == "sent" and mta_id is not None:
            self._recent.add(mta_id)
        if self.on_event is not None:
            try:
                self.on_event(DeliveryEvent(msg.id, mta_id, outcome, detail, utcnow(), duration))
            except Exception:  # a listener must not stop deliveries
                log.exception("delivery event listener failed")

    async def _wake_conns(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    # -- one connection ----------------------------------------------------------------
    async def _claim_size(self, usable: list[MtaState]) -> int:
        """How many messages to claim: four per connection of the MTAs without a
        rate limit (at least a batch), plus the tokens the limited ones hold now,
        so mail the limits hold back stays ``queued`` in the store."""
        free = sum(st.row.max_connections for st in usable if st.row.rate_limit_per_minute <= 0)
        limited = [st.id for st in usable if st.row.rate_limit_per_minute > 0]
        tokens = sum([await self._db(ratelimit.room, mta_id) for mta_id in limited])
        return (max(self.settings.batch_size, 4 * free) if free else 0) + tokens

    async def _token_wait(self, st: MtaState) -> float:
        """0 when this MTA may send one more message now (a token of its rate
        limit taken, or it has none); else the seconds until it may."""
        if st.row.rate_limit_per_minute <= 0:
            return 0.0
        mono = time.monotonic()
        if st.rate_wait_until > mono:
            return st.rate_wait_until - mono
        wait = await self._db(ratelimit.take, st.id)
        st.rate_wait_until = mono + wait
        return wait

    async def _next_for(self, conn: Conn) -> Claimed | None:
        """The next message this connection may send, waiting up to the idle time
        (and for a token of the MTA's rate limit: meanwhile other MTAs take the line)."""
        mta_id = conn.mta.id
        deadline = time.monotonic() + self.settings.idle_close_seconds
        while True:
            if not conn.mta.usable(utcnow()):
                return None
            if self._stopping or self._paused or conn.stale:
                return None
            left = deadline - time.monotonic()
            if any(mta_id not in m.excluded for m in self._line):
                wait = await self._token_wait(conn.mta)
                for i, msg in enumerate(self._line if wait <= 0 else ()):
                    if mta_id not in msg.excluded:
                        del self._line[i]
                        if len(self._line) < self._low:
                            self._wake.set()
                        return msg
                left = min(left, wait) if wait > 0 else left  # (a token taken for nothing is lost)
            if deadline - time.monotonic() <= 0:
                return None
            self._wake.set()
            with contextlib.suppress(TimeoutError):
                async with self._cond, asyncio.timeout(max(0.0, left)):
                    await self._cond.wait()

    def _take_now(self, conn: Conn) -> Claimed | None:
        """The next message this connection may send, if one is waiting now
        (to pipeline it behind the one being sent). Never for an MTA with a
        rate limit: each of its messages waits for a token (``_next_for``)."""
        if self._stopping or self._paused or conn.stale or conn.mta.row.rate_limit_per_minute > 0:
            return None
        for i, msg in enumerate(self._line):
            if conn.mta.id not in msg.excluded:
                del self._line[i]
                if len(self._line) < self._low:
                    self._wake.set()
                return msg
        return None

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
        session: SmtpSession | None = None
        ahead: Claimed | None = None  # taken from the line, to be sent next here
        try:
            start = time.monotonic()
            lease = await self._db(
                slots.acquire, st.id, st.row.max_connections, self.id, s.lease_seconds, self._live_here
            )
            if lease is None:
                st.slots_full_until = time.monotonic() + s.poll_interval
                return
            conn.slot_no, conn.gen = lease
            conn.valid_until = start + s.lease_seconds
            if st.config is None:  # it became unusable meanwhile
                return
            session = SmtpSession(st.config, self._helo, one_connection=True)  # (within its slot)
            opened = False
            sent_here = 0
            while sent_here < s.messages_per_connection:
                if not opened:
                    # Only open once there is something to send.
                    if not any(st.id not in m.excluded for m in self._line):
                        break
                    if not self._slot_ok(conn):  # the slot's lease is not surely ours
                        break
                    outcome = await session.open()
                    if not outcome.ok:
                        await self._mta_down(st, outcome, None, 0.0)
                        return
                    opened = True
                msg, ahead = ahead, None
                if msg is None:
                    msg = await self._next_for(conn)
                if msg is None:
                    break
                if not self.lease_ok(msg):  # fencing: never send what may be another's
                    self._forget(msg, "its lease is not surely this worker's (stopped or slow?)")
                    return
                if not self._slot_ok(conn):
                    self._line.appendleft(msg)
                    return
                if session.pipelining and sent_here + 1 < s.messages_per_connection:
                    # Pipelined, the next message's envelope goes with this content.
                    ahead = self._take_now(conn)
                conn.busy = True
                try:
                    ok = await self._deliver(conn, session, msg, reused=sent_here > 0, then=ahead)
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
            if ahead is not None:  # not sent here after all: back to the line
                self._line.appendleft(ahead)
            st.conns.discard(conn)
            if session is not None:
                try:
                    await session.close()
                except Exception:
                    log.debug("closing a session failed", exc_info=True)
            self._wake.set()
            if conn.slot_no is not None:  # (a slot left behind runs out with its lease)
                await self._db(slots.release, st.id, conn.slot_no, self.id, conn.gen)

    async def _deliver(
        self, conn: Conn, session: SmtpSession, msg: Claimed, reused: bool, then: Claimed | None = None
    ) -> bool:
        """Send one message (``then`` the one to follow it here); False when the
        connection must end (the MTA failed)."""
        st = conn.mta
        started = utcnow()
        t0 = time.monotonic()
        guard = partial(self.lease_ok, msg)
        nxt = None if then is None else (then.sender, then.recipient, then.raw, partial(self.lease_ok, then))
        outcome = await session.send(msg.sender, msg.recipient, msg.raw, guard=guard, then=nxt)
        if not outcome.ok and outcome.mta_failure and reused and guard():
            # A reused connection may have been closed by the server meanwhile:
            # one fresh connection to the same MTA before calling it down.
            await session.close()
            outcome = await session.send(msg.sender, msg.recipient, msg.raw, guard=guard, then=nxt)
        if not outcome.ok and not guard():  # stopped before DATA: not sent, not ours
            self._forget(msg, "its lease ran out during the transaction; not sent")
            return False
        if msg.secrets:  # a reply that quotes the reset link is logged and stored: without the token
            outcome = Redactor(list(msg.secrets)).outcome(outcome)
        elapsed = time.monotonic() - t0
        msg.tries += 1
        msg.last_mta_id = st.id
        self._book.attempts.append(verdicts.attempt_row(msg, st.id, st.name, started, elapsed, outcome))
        now = utcnow()
        if outcome.ok:
            text = outcome.message or ""
            msg.last_error = None
            self._result(msg, MessageStatus.SENT.value, now=now, reply=text[: verdicts.TEXT_LIMIT])
            self._book.contact(st.id, now, text, sent=True)
            st.replies.append((msg.recipient.lower(), False))
            st.deferred.clear()
            log.info("sent id=%d to=%s mta=%r reply=%r", msg.id, msg.recipient, st.name, text)
            self._emit(msg, st.id, "sent", text, elapsed)
        elif outcome.mta_failure:
            await self._mta_down(st, outcome, msg, elapsed)
            return False
        else:
            verdict = verdicts.after_refusal(msg, outcome, self.settings, now)
            msg.last_error = verdict.error
            self._book.contact(st.id, now, verdicts.error_text(outcome), sent=False)
            st.replies.append((msg.recipient.lower(), not outcome.permanent))
            if verdict.next_at is None:
                self._fail(msg, verdict.error, elapsed)
            else:
                # Refused by an MTA found unwell meanwhile (another connection's
                # reply): the fault is the MTA's; due at once for the others.
                next_at = verdict.next_at if st.usable(now) else now
                row = self._result(msg, verdict.status.value, now=now, next_at=next_at)
                st.deferred.append((msg.id, row))
                log.info(
                    "deferred id=%d to=%s mta=%r next=%s: %s",
                    msg.id,
                    msg.recipient,
                    st.name,
                    next_at.isoformat(timespec="seconds"),
                    verdict.error,
                )
                self._emit(msg, st.id, "deferred", verdict.error, elapsed)
            if verdicts.mta_unwell(st.replies):
                await self._mta_unwell(st, verdicts.error_text(outcome))
                return False
        if len(self._book) >= self.settings.flush_every:
            self._flush_wanted.set()
        return True

    async def _mta_unwell(self, st: MtaState, error: str) -> None:
        """The MTA refuses every message: cool it down as if it had failed, and
        make the messages it deferred due at once, for the other MTAs."""
        now = utcnow()
        ids = [mid for mid, _ in st.deferred]
        for _, row in st.deferred:
            row["b_next"] = now  # if not written yet
        st.deferred.clear()
        st.replies.clear()
        await self._db(claims.due_now, ids, st.id, now)  # if written already
        self._flush_wanted.set()
        outcome_error = f"refuses every message for now (last: {error})"
        until = await self._db(mtas.record_failure, st.id, outcome_error, cooldown=self._cooldown)
        st.cooldown_until = until
        log.warning(
            "mta_error mta=%r: %s; cooling down until %s; %d deferred messages due again",
            st.row.description,
            outcome_error,
            until.isoformat(timespec="seconds") if until else "-",
            len(ids),
        )
        for c in st.conns:
            c.stale = True
        self._wake.set()

    def _fail(self, msg: Claimed, error: str, duration: float | None = None) -> None:
        msg.last_error = error
        self._result(msg, MessageStatus.FAILED.value, now=utcnow())
        log.info("failed id=%d to=%s: %s", msg.id, msg.recipient, error)
        self._emit(msg, msg.last_mta_id, "failed", error, duration)

    async def _mta_down(self, st: MtaState, outcome: Outcome, msg: Claimed | None, elapsed: float) -> None:
        """The MTA failed: cool it down, hand the message to another MTA at once."""
        error = verdicts.error_text(outcome)
        if st.cooldown_until is None or st.cooldown_until <= utcnow():
            until = await self._db(mtas.record_failure, st.id, error, cooldown=self._cooldown)
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
