"""The worker's fencing in memory (ertui.delivery.leases): a renewal that finds
a claim gone forgets it, and the check before MAIL FROM needs no query."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import update
from sqlalchemy.engine import Engine

from ertui import queue
from ertui.delivery import claims
from ertui.delivery.worker import Worker
from ertui.store.models import Message
from tests.delivery.conftest import fast_settings

T = Message.__table__  # type: ignore[attr-defined]


def test_a_renewal_forgets_the_claims_another_worker_took(store: Engine) -> None:
    ids = queue.enqueue_batch(store, [(f"u{i}@example.com", "s", "b") for i in range(4)])
    worker = Worker(store, fast_settings(lease_seconds=30))
    got = claims.claim(store, worker.id, 10, 30)
    worker._hold(got)
    worker._line.extend(got)
    assert all(worker.lease_ok(m) for m in got)
    with store.begin() as conn:  # its lease ran out meanwhile and another worker claimed two
        conn.execute(update(T).where(T.c.id.in_(ids[:2])).values(lease_owner="other", lease_gen=T.c.lease_gen + 1))
    asyncio.run(worker._renew())
    assert [m.id for m in worker._line] == ids[2:]
    assert [worker.lease_ok(m) for m in got] == [False, False, True, True]


def test_a_lease_not_renewed_in_time_is_not_trusted(store: Engine) -> None:
    """A worker whose renewals stalled (stopped, a blocked store call): once less
    than a third of the lease is surely left, the message is not sent."""
    queue.enqueue(store, "a@example.com", "s", "b")
    worker = Worker(store, fast_settings(lease_seconds=30))
    [msg] = claims.claim(store, worker.id, 1, 30)
    worker._hold([msg])
    assert worker.lease_ok(msg)
    msg.valid_until = time.monotonic() + 9  # 21 s since the claim, no renewal
    assert not worker.lease_ok(msg)
