"""Claims and connection slots on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from ertui import mtas, queue, settings
from ertui.delivery import claims, slots
from ertui.store.models import Message, MtaSlot
from ertui.timeutil import utcnow

T = Message.__table__  # type: ignore[attr-defined]
S = MtaSlot.__table__  # type: ignore[attr-defined]


@pytest.fixture
def any_store(any_engine: Engine) -> Engine:
    settings.set_admin_email(any_engine, "admin@example.com")
    settings.set_master_host(any_engine, "mail.example.com")
    return any_engine


def enqueue_n(engine: Engine, n: int) -> list[int]:
    return queue.enqueue_batch(engine, [(f"u{i}@example.com", "s", "b") for i in range(n)])


def test_claim_takes_due_rows_once_with_a_lease(any_store: Engine) -> None:
    ids = enqueue_n(any_store, 5)
    with any_store.begin() as conn:
        conn.execute(update(T).where(T.c.id == ids[0]).values(status="held"))
        conn.execute(
            update(T).where(T.c.id == ids[1]).values(status="deferred", next_attempt_at=utcnow() + timedelta(hours=1))
        )
    got = claims.claim(any_store, "w1", 10, 30)
    assert [c.id for c in got] == ids[2:]
    assert got[0].raw.startswith(b"From: admin@example.com")
    assert claims.claim(any_store, "w2", 10, 30) == []  # held, not due, or leased
    m = queue.get_message(any_store, ids[2])
    assert m.status == "sending" and m.lease_owner == "w1"
    assert m.lease_until is not None and m.lease_until > utcnow() + timedelta(seconds=20)


def test_expired_lease_is_due_again_and_stale_results_are_ignored(any_store: Engine) -> None:
    [mid] = enqueue_n(any_store, 1)
    [c1] = claims.claim(any_store, "dead", 10, 30)
    with any_store.begin() as conn:  # the first worker died: its lease ran out
        conn.execute(update(T).values(lease_until=utcnow() - timedelta(seconds=1)))
    [c2] = claims.claim(any_store, "alive", 10, 30)
    assert c2.id == mid
    c1.tries = 1
    claims.write(any_store, [claims.result_row(c1, "dead", "failed", now=utcnow())], [], {})
    assert queue.get_message(any_store, mid).status == "sending"  # the old owner cannot write
    c2.tries = 1
    claims.write(any_store, [claims.result_row(c2, "alive", "sent", now=utcnow())], [], {})
    m = queue.get_message(any_store, mid)
    assert (m.status, m.attempts, m.lease_owner) == ("sent", 1, None)


def test_a_claim_taken_again_fences_off_the_older_claim_even_of_the_same_owner(any_store: Engine) -> None:
    """A worker stopped past its lease, whose row was given back and claimed
    again (by itself: another worker's claim is the same statement): the older
    claim's result and renewal change nothing. Its own claim never takes the
    expired row directly (one of them may be in the middle of its DATA)."""
    [mid] = enqueue_n(any_store, 1)
    [old] = claims.claim(any_store, "w", 10, 30)
    with any_store.begin() as conn:
        conn.execute(update(T).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert claims.claim(any_store, "w", 10, 30) == []
    assert claims.renew(any_store, "w", 30, paused=False, orphans=[(mid, old.gen)]) == set()
    [new] = claims.claim(any_store, "w", 10, 30)
    assert new.id == mid and new.gen > old.gen
    assert claims.renew(any_store, "w", 30, paused=False, orphans=[(mid, old.gen)]) == {(mid, new.gen)}
    old.tries = 1
    lost = claims.write(any_store, [claims.result_row(old, "w", "sent", now=utcnow())], [], {})
    assert lost == 1 and queue.get_message(any_store, mid).status == "sending"
    new.tries = 1
    assert claims.write(any_store, [claims.result_row(new, "w", "sent", now=utcnow())], [], {}) == 0
    assert queue.get_message(any_store, mid).status == "sent"


def test_an_expired_lease_of_a_protected_owner_is_not_claimed(any_store: Engine) -> None:
    enqueue_n(any_store, 1)
    claims.claim(any_store, "stopped", 10, 30)
    with any_store.begin() as conn:
        conn.execute(update(T).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert claims.claim(any_store, "other", 10, 30, protect={"stopped"}) == []
    assert len(claims.claim(any_store, "other", 10, 30, protect={"someone-else"})) == 1


def test_renew_pushes_on_only_my_leases(any_store: Engine) -> None:
    enqueue_n(any_store, 2)
    [a] = claims.claim(any_store, "w1", 1, 1)
    [b] = claims.claim(any_store, "w2", 1, 1)
    assert claims.renew(any_store, "w1", 60, paused=False) == {(a.id, a.gen)}
    assert queue.get_message(any_store, a.id).lease_until > utcnow() + timedelta(seconds=50)  # type: ignore[operator]
    assert queue.get_message(any_store, b.id).lease_until < utcnow() + timedelta(seconds=2)  # type: ignore[operator]


def test_concurrent_claimers_never_share_a_message(any_store: Engine) -> None:
    enqueue_n(any_store, 300)
    got: dict[str, list[int]] = {}

    def worker(name: str) -> None:
        mine: list[int] = []
        while True:
            batch = claims.claim(any_store, name, 7, 30)
            if not batch:
                break
            mine += [c.id for c in batch]
        got[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everything = [i for ids in got.values() for i in ids]
    assert len(everything) == 300 and len(set(everything)) == 300


def test_slots_cap_connections_across_owners(any_store: Engine) -> None:
    m = mtas.add(any_store, description="relay", host="127.0.0.1", port=2525, max_connections=2)
    assert m.id is not None
    a = slots.acquire(any_store, m.id, 2, "w1", 30)
    b = slots.acquire(any_store, m.id, 2, "w2", 30)
    assert a is not None and b is not None
    assert {a[0], b[0]} == {0, 1}
    assert slots.acquire(any_store, m.id, 2, "w3", 30) is None
    assert slots.leased(any_store) == {m.id: 2}
    slots.release(any_store, m.id, b[0], "w3")  # not the owner: nothing happens
    assert slots.acquire(any_store, m.id, 2, "w3", 30) is None
    slots.release(any_store, m.id, b[0], "w2", b[1])
    c = slots.acquire(any_store, m.id, 2, "w3", 30)
    assert c is not None and c[0] == b[0] and c[1] == b[1] + 1  # a new generation


def test_expired_slot_is_free_and_renew_reports_what_is_held(any_store: Engine) -> None:
    m = mtas.add(any_store, description="relay", host="127.0.0.1", port=2525, max_connections=1)
    assert m.id is not None
    assert slots.acquire(any_store, m.id, 1, "dead", 30) == (0, 1)
    with any_store.begin() as conn:
        conn.execute(update(S).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert slots.acquire(any_store, m.id, 1, "alive", 30, protect={"dead"}) is None  # stopped, not dead
    assert slots.acquire(any_store, m.id, 1, "alive", 30) == (0, 2)
    assert slots.renew(any_store, "dead", 30) == set()
    assert slots.renew(any_store, "alive", 30) == {(m.id, 0, 2)}
    slots.release(any_store, m.id, 0, "alive", 1)  # an older lease of the same owner: nothing happens
    assert slots.renew(any_store, "alive", 30) == {(m.id, 0, 2)}


def test_lowering_the_limit_makes_upper_slots_unleasable(any_store: Engine) -> None:
    m = mtas.add(any_store, description="relay", host="127.0.0.1", port=2525, max_connections=3)
    assert m.id is not None
    for owner in ("a", "b"):
        slots.acquire(any_store, m.id, 3, owner, 30)
    slots.release(any_store, m.id, 0, "a")
    # limit now 1: slot 0 is free, slot 1 is held by b, slot 2 is above the limit
    assert slots.acquire(any_store, m.id, 1, "c", 30) == (0, 2)
    assert slots.acquire(any_store, m.id, 1, "d", 30) is None


def test_concurrent_slot_acquirers_respect_the_limit(any_store: Engine) -> None:
    m = mtas.add(any_store, description="relay", host="127.0.0.1", port=2525, max_connections=3)
    assert m.id is not None
    results: list[int | None] = []
    lock = threading.Lock()

    def grab(owner: str) -> None:
        lease = slots.acquire(any_store, m.id, 3, owner, 30)  # type: ignore[arg-type]
        with lock:
            results.append(None if lease is None else lease[0])

    threads = [threading.Thread(target=grab, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    taken = [r for r in results if r is not None]
    assert sorted(taken) == [0, 1, 2] and len(results) == 8


def _attempt(msg_id: int, mta_id: int | None) -> dict[str, object]:
    return {
        "message_id": msg_id,
        "mta_id": mta_id,
        "mta_description": "relay",
        "started_at": utcnow(),
        "duration_ms": 1,
        "outcome": "sent",
        "kind": None,
        "code": 250,
        "text": "2.0.0 Ok",
    }


def test_results_survive_a_message_deleted_and_an_mta_removed_meanwhile(any_store: Engine) -> None:
    """An operator deletes a message and removes an MTA while the worker holds
    their results: the batch is still written (a foreign key must not fail it,
    again at every retry), the other messages' results land."""
    relay = mtas.add(any_store, description="relay", host="127.0.0.1", port=2525)
    assert relay.id is not None
    gone, kept = enqueue_n(any_store, 2)
    got = claims.claim(any_store, "w", 10, 30)
    queue.delete(any_store, [gone])
    mtas.remove(any_store, relay.id)
    rows = []
    for c in got:
        c.tries, c.last_mta_id = 1, relay.id
        rows.append(claims.result_row(c, "w", "sent", now=utcnow(), reply="ok"))
    contact = mtas.Contact(utcnow(), "250 ok", sent=2, last_success_at=utcnow())
    claims.write(any_store, rows, [_attempt(c.id, relay.id) for c in got], {relay.id: contact})
    m = queue.get_message(any_store, kept)
    assert (m.status, m.attempts, m.last_mta_id) == ("sent", 1, None)
    [a] = queue.attempts_for(any_store, kept)
    assert (a.mta_id, a.mta_description, a.outcome) == (None, "relay", "sent")
