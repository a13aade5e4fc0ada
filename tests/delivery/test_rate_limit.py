"""The rate limit of an MTA: a token bucket of capacity 1 in the store
(``ertui.delivery.ratelimit``), shared by every worker process.

The algorithm allows at most 1 + N/60 * W messages in any window of W seconds
(N a minute): the measured tests count the arrivals the server recorded per
window against that bound, with real worker processes on one store."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ertui import mtas, queue
from ertui.delivery import ratelimit
from ertui.store.models import Attempt, Message
from tests.delivery.conftest import add_mta, finish, start_worker
from tests.smtpd import SmtpServer

T = Message.__table__  # type: ignore[attr-defined]
A = Attempt.__table__  # type: ignore[attr-defined]


class TimedServer(SmtpServer):
    """Records when (time.monotonic) each message arrived."""

    def __init__(self) -> None:
        super().__init__("plain")
        self.arrivals: list[float] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        with self._lock:
            self.arrivals.append(time.monotonic())
        return reply


def most_in_window(times: list[float], seconds: float) -> int:
    """The most arrivals in any window [t, t + seconds) starting at an arrival."""
    times = sorted(times)
    return max((sum(1 for u in times[i:] if u < t + seconds) for i, t in enumerate(times)), default=0)


def statuses(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter({s: n for s, n in conn.execute(select(T.c.status, func.count()).group_by(T.c.status))})


def test_the_bucket_gives_one_token_per_interval(any_engine: Engine) -> None:
    m = mtas.add(any_engine, description="limited", host="mail.example.com", rate_limit=60)
    mid = m.id or 0
    t0 = 1_000_000.0
    assert ratelimit.take(any_engine, mid, t0) == 0.0  # a new MTA's bucket is full (1 token)
    # 60/min: a token every 1.01 s (ratelimit.SPACING)
    assert ratelimit.take(any_engine, mid, t0 + 0.25) == pytest.approx(0.76)  # nothing taken
    assert ratelimit.room(any_engine, mid, t0 + 0.5) == 0
    assert ratelimit.take(any_engine, mid, t0 + 1.0) == pytest.approx(0.01)
    assert ratelimit.take(any_engine, mid, t0 + 1.01) == 0.0
    # Idle for long: still one token, never a burst of the minute's worth.
    assert ratelimit.room(any_engine, mid, t0 + 600) == 1
    assert ratelimit.take(any_engine, mid, t0 + 600) == 0.0
    assert ratelimit.take(any_engine, mid, t0 + 600) > 0
    free = mtas.add(any_engine, description="free", host="mail.example.com")
    assert all(ratelimit.take(any_engine, free.id or 0, t0) == 0.0 for _ in range(5))


def test_concurrent_takes_share_one_token(any_engine: Engine) -> None:
    """Eight threads, each on its own connection, ask at the same instant: one wins."""
    m = mtas.add(any_engine, description="limited", host="mail.example.com", rate_limit=30)
    now = time.time()
    start = threading.Barrier(8)

    def one(_: int) -> float:
        start.wait()
        return ratelimit.take(any_engine, m.id or 0, now)

    with ThreadPoolExecutor(8) as pool:
        waits = list(pool.map(one, range(8)))
    assert waits.count(0.0) == 1
    assert all(w > 0 for w in waits if w != 0.0)


def test_two_worker_processes_keep_to_the_limit(store: Engine, db_url: str) -> None:
    """120/min through one MTA, two worker processes, 12 messages: no 1-second
    window holds more than 1 + 2 = 3 arrivals (the bucket's bound), so the 12
    spread over at least 4.5 s; held-back mail stays queued, never deferred."""
    with TimedServer() as srv:
        add_mta(store, "limited", srv.port, max_connections=3, rate_limit=120)
        queue.enqueue_batch(store, [(f"u{i}@example.com", "s", "b") for i in range(12)])
        procs = [start_worker(db_url, "--once") for _ in range(2)]
        most_sending = 0
        while any(p.poll() is None for p in procs):
            counts = statuses(store)
            assert counts["deferred"] == 0
            most_sending = max(most_sending, counts["sending"])
            time.sleep(0.05)
        for p in procs:
            code, err = finish(p)
            assert code == 0, err
        assert statuses(store) == Counter({"sent": 12})
        assert most_sending <= 4  # claimed only as tokens allowed: the rest waited `queued`
        assert most_in_window(srv.arrivals, 1.0) <= 3
        assert most_in_window(srv.arrivals, 60.0) <= 120
        assert max(srv.arrivals) - min(srv.arrivals) >= 4.5  # 12 arrivals, 3 a second at most


def test_another_mta_without_a_limit_takes_the_rest(store: Engine, db_url: str) -> None:
    """60/min on one MTA, none on the other: together they carry 30 messages
    from two processes, the limited one only what its tokens allow."""
    with TimedServer() as limited, TimedServer() as free:
        add_mta(store, "limited", limited.port, max_connections=2, rate_limit=60)
        add_mta(store, "free", free.port, max_connections=2)
        queue.enqueue_batch(store, [(f"u{i}@example.com", "s", "b") for i in range(30)])
        started = time.monotonic()
        procs = [start_worker(db_url, "--once") for _ in range(2)]
        for p in procs:
            code, err = finish(p)
            assert code == 0, err
        span = time.monotonic() - started
        assert statuses(store) == Counter({"sent": 30})
        assert len(limited.received) + len(free.received) == 30
        assert len(limited.received) <= 1 + int(span)  # one token a second, one at the start
        assert len(free.received) >= 30 - (1 + int(span))
        assert most_in_window(limited.arrivals, 1.0) <= 2
        with store.connect() as conn:
            outcomes = Counter(r[0] for r in conn.execute(select(A.c.outcome)))
        assert outcomes == Counter({"sent": 30})  # nothing deferred or failed on the way
