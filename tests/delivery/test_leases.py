"""The worker's fencing in memory (ertui.delivery.leases): a renewal that finds
a claim gone forgets it, and the check before MAIL FROM needs no query."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select, update
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


def test_a_claim_never_takes_back_the_workers_own_expired_rows(store: Engine) -> None:
    """A worker stopped (or stalled) past its lease may be in the middle of a
    message's DATA: its own claim must not take that row again (it would send
    it twice); another host's worker may, once the lease ran out."""
    queue.enqueue_batch(store, [(f"u{i}@example.com", "s", "b") for i in range(3)])
    first = claims.claim(store, "me", 10, 30)
    assert len(first) == 3
    with store.begin() as conn:  # every lease ran out
        conn.execute(update(T).values(lease_until=T.c.created_at))
    assert claims.claim(store, "me", 10, 30) == []
    assert len(claims.claim(store, "other", 10, 30)) == 3


def test_a_message_the_worker_let_go_of_is_due_again_for_every_worker(store: Engine) -> None:
    """A message dropped unsent because its lease was not surely the worker's
    any more, while its row still is: the next renewal gives it back (it does
    not stay `sending`, renewed for as long as the worker lives); a row that
    passed to another claim meanwhile is left alone."""
    ids = queue.enqueue_batch(store, [(f"u{i}@example.com", "s", "b") for i in range(3)])
    worker = Worker(store, fast_settings(lease_seconds=30))
    got = claims.claim(store, worker.id, 10, 30)
    worker._hold(got)
    worker._line.extend(got)
    with store.begin() as conn:  # the third passed to another worker's claim
        conn.execute(update(T).where(T.c.id == ids[2]).values(lease_owner="other", lease_gen=T.c.lease_gen + 1))
    for m in got:
        worker._forget(m, "its lease is not surely this worker's")
    asyncio.run(worker._renew())
    with store.connect() as conn:
        status = {int(r[0]): str(r[1]) for r in conn.execute(select(T.c.id, T.c.status))}
        owner = {int(r[0]): r[1] for r in conn.execute(select(T.c.id, T.c.lease_owner))}
    assert status == {ids[0]: "queued", ids[1]: "queued", ids[2]: "sending"}
    assert owner[ids[2]] == "other" and owner[ids[0]] is None
    again = claims.claim(store, worker.id, 10, 30)  # due at once, for this worker too
    assert sorted(m.id for m in again) == ids[:2]
