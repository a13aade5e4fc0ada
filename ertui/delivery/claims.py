"""The worker's statements on the message table: claim, renew, release, results.

- **Claim**: one atomic, status-guarded ``UPDATE … RETURNING``: due messages
  (``queued``/``deferred`` with ``next_attempt_at`` passed, or ``sending`` whose
  lease ran out because its worker died) become ``sending`` with this worker
  as lease owner. On PostgreSQL the candidate rows are picked by a materialised
  CTE ``FOR UPDATE SKIP LOCKED``, so concurrent workers never wait on each other
  nor claim the same row; SQLite serialises writers, so the statement is
  atomic there as it is.
- **Lease**: every claimed row carries ``lease_until`` and a fencing token,
  ``lease_gen``, one more at every claim; ``renew`` pushes the lease on for
  every row the worker still holds, in one statement, and returns which
  (id, generation) those are: a row missing from the answer was lost (its
  lease ran out and another claim took it), and the worker forgets it.
- **Results** are written in batches (one transaction for many messages: the
  status updates, the attempt log rows and the MTA counters). Each update is
  guarded by ``status = 'sending' AND lease_owner = me AND lease_gen = the
  claim's``, so a row held, deleted or re-claimed meanwhile (even by this
  worker, after its lease ran out) is never overwritten; ``write`` returns how
  many results were lost so. ``write_and_claim`` writes a
  batch and claims the next in one transaction.

On SQLite the hot statements (claim, results, attempt rows) are plain SQL
through the DB-API: the same statements, without SQLAlchemy's per-row
parameter processing, which cost several times SQLite's own work. Times are
written in the text form SQLAlchemy uses there (``sqlite_time``), so both
paths store, compare and read the same values.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, or_, select, update
from sqlalchemy.engine import Connection, Engine

from ertui.delivery import sqlite_rows as rows
from ertui.mtas import Contact, write_contacts
from ertui.store import sealed
from ertui.store.models import DUE_STATUSES, Attempt, Message, MessageStatus, Mta, WorkerRecord
from ertui.timeutil import as_utc, utcnow

T = Message.__table__  # type: ignore[attr-defined]
A = Attempt.__table__  # type: ignore[attr-defined]
M = Mta.__table__  # type: ignore[attr-defined]
W = WorkerRecord.__table__  # type: ignore[attr-defined]

SENDING = MessageStatus.SENDING.value


@dataclass(eq=False)
class Claimed:
    """A message this worker holds, as the claim returned it."""

    id: int
    sender: str
    recipient: str
    raw: bytes
    attempts: int
    next_attempt_at: datetime
    expires_at: datetime
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    last_mta_id: int | None = None
    gen: int = 0  # the claim's fencing token (``lease_gen``)
    # Until when (time.monotonic) this worker knows its lease holds: the claim's
    # or the last renewal's start plus the lease (see Worker.lease_ok).
    valid_until: float = 0.0
    # During this claim: attempts made so far, MTAs that failed for it.
    tries: int = 0
    excluded: set[int] = field(default_factory=set)
    # A sealed message's secrets (``store.sealed.secrets``): redacted from every
    # reply to it, which is logged and stored (a filter that quotes the link).
    secrets: tuple[str, ...] = ()


def claim(engine: Engine, owner: str, limit: int, lease_seconds: float, protect: Collection[str] = ()) -> list[Claimed]:
    """Claim up to ``limit`` due messages, oldest due first. Rows whose lease ran
    out are due again, unless their owner is in ``protect`` (a live worker of
    this host that was stopped: ``ertui.delivery.workers.live_here``)."""
    valid = time.monotonic() + lease_seconds
    with engine.begin() as conn:
        return _claim(conn, owner, limit, lease_seconds, valid, protect)


def write_and_claim(
    engine: Engine,
    results: list[dict[str, Any]],
    attempts: list[dict[str, Any]],
    contacts: dict[int, Contact],
    owner: str,
    limit: int,
    lease_seconds: float,
    protect: Collection[str] = (),
) -> tuple[int, list[Claimed]]:
    """``write`` then ``claim`` in one transaction: one commit instead of two.
    The results lost (see ``write``) and the messages claimed."""
    valid = time.monotonic() + lease_seconds
    with engine.begin() as conn:
        lost = _write(conn, results, attempts, contacts)
        return lost, _claim(conn, owner, limit, lease_seconds, valid, protect)


def _claim(
    conn: Connection, owner: str, limit: int, lease_seconds: float, valid: float, protect: Collection[str]
) -> list[Claimed]:
    now = utcnow()
    until = now + timedelta(seconds=lease_seconds)
    # Never this worker's own expired rows: one of them may be in the middle of
    # its DATA (the worker was stopped, or its loop stalled, past the lease);
    # taking it again would send it twice. The worker gives back what it lets
    # go of itself (``renew``'s ``orphans``).
    protect = {*protect, owner}
    if conn.dialect.name == "sqlite":
        rows = _claim_sqlite(conn, owner, now, until, limit, protect)
    else:
        rows = _claim_core(conn, owner, now, until, limit, protect)
    out = []
    for r in rows:
        stored = bytes(r[3])
        raw = sealed.open_raw(stored, int(r[0]))
        out.append(
            Claimed(
                id=int(r[0]),
                sender=r[1],
                recipient=r[2],
                raw=raw,
                attempts=int(r[4]),
                next_attempt_at=_dt(r[5]),
                expires_at=_dt(r[6]),
                last_attempt_at=None if r[7] is None else _dt(r[7]),
                last_error=r[8],
                last_mta_id=r[9],
                gen=int(r[10]),
                valid_until=valid,
                secrets=sealed.secrets(raw) if sealed.is_sealed(stored) else (),
            )
        )
    out.sort(key=lambda c: (c.next_attempt_at, c.id))
    return out


def _claim_core(
    conn: Connection, owner: str, now: datetime, until: datetime, limit: int, protect: Collection[str]
) -> list[Any]:
    """The claim in SQLAlchemy Core (PostgreSQL and any other store)."""
    expired = and_(T.c.status == SENDING, T.c.lease_until < now)
    if protect:
        expired = and_(expired, T.c.lease_owner.not_in(list(protect)))
    due = or_(and_(T.c.status.in_(DUE_STATUSES), T.c.next_attempt_at <= now), expired)
    pick = select(T.c.id).where(due).order_by(T.c.next_attempt_at, T.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        # A materialised CTE: PostgreSQL may otherwise re-run a LIMIT subquery
        # inside a semi-join and claim more rows than asked for.
        picked = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        target = update(T).where(T.c.id == picked.c.id, due)
    else:
        target = update(T).where(T.c.id.in_(pick.scalar_subquery()), due)
    stmt = target.values(status=SENDING, lease_owner=owner, lease_until=until, lease_gen=T.c.lease_gen + 1).returning(
        *(T.c[c] for c in _COLUMNS.split(", "))
    )
    return list(conn.execute(stmt))


_COLUMNS = (
    "id, sender, recipient, raw, attempts, next_attempt_at, expires_at, last_attempt_at, last_error, last_mta_id, "
    "lease_gen"
)


def _dt(value: Any) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives back its text form)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


_SQLITE_CLAIM = """
UPDATE message SET status = 'sending', lease_owner = :owner, lease_until = :until,
    lease_gen = lease_gen + 1
WHERE id IN (
    SELECT id FROM (
        SELECT id, due_at FROM (
            SELECT id, next_attempt_at AS due_at FROM message
            WHERE status = 'queued' AND next_attempt_at <= :now
            ORDER BY next_attempt_at LIMIT :n)
        UNION ALL SELECT id, due_at FROM (
            SELECT id, next_attempt_at AS due_at FROM message
            WHERE status = 'deferred' AND next_attempt_at <= :now
            ORDER BY next_attempt_at LIMIT :n)
        UNION ALL SELECT id, due_at FROM (
            SELECT id, lease_until AS due_at FROM message
            WHERE status = 'sending' AND lease_until < :now
            AND lease_owner NOT IN (SELECT value FROM json_each(:protect)) LIMIT :n)
    ) ORDER BY due_at, id LIMIT :n)
AND ((coalesce(status, '') IN ('queued', 'deferred') AND next_attempt_at <= :now)
     OR (coalesce(status, '') = 'sending' AND lease_until < :now
         AND lease_owner NOT IN (SELECT value FROM json_each(:protect))))
RETURNING id
"""


def _claim_sqlite(
    conn: Connection, owner: str, now: datetime, until: datetime, limit: int, protect: Collection[str]
) -> list[Any]:
    """The claim on SQLite, in plain SQL (writers are serialised, so it is atomic).

    The due ids come from one ordered index range per status, each stopping
    after ``limit`` rows, so a claim costs the same with 10 or 100,000 messages
    waiting; the guard repeats the condition with ``coalesce`` so that SQLite
    finds the rows by primary key rather than scanning every due row. Only the
    ids are returned by the UPDATE; the rows are then read in one plain query.
    """
    params = {
        "owner": owner,
        "until": rows.sqlite_time(until),
        "now": rows.sqlite_time(now),
        "n": limit,
        "protect": json.dumps(sorted(protect)),
    }
    ids = [int(r[0]) for r in conn.exec_driver_sql(_SQLITE_CLAIM, params)]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    return list(conn.exec_driver_sql(f"SELECT {_COLUMNS} FROM message WHERE id IN ({marks})", tuple(ids)).all())


def renew(
    engine: Engine, owner: str, lease_seconds: float, paused: bool, orphans: Collection[tuple[int, int]] = ()
) -> set[tuple[int, int]]:
    """Give back ``orphans`` — the (id, generation) of rows this worker let go of
    unsent (its lease was not surely its own any more) — if they are still its
    own; push on the lease of every other row it holds; beat its heart. The
    (id, generation) of the rows still held: any other the worker had is lost."""
    now = utcnow()
    until = now + timedelta(seconds=lease_seconds)
    with engine.begin() as conn:
        if orphans:
            conn.execute(
                give_back(
                    and_(
                        T.c.lease_owner == owner,
                        T.c.id == bindparam("o_id"),
                        T.c.lease_gen == bindparam("o_gen"),
                    )
                ),
                [{"o_id": i, "o_gen": g} for i, g in orphans],
            )
        rows = conn.execute(
            update(T)
            .where(T.c.status == SENDING, T.c.lease_owner == owner)
            .values(lease_until=until)
            .returning(T.c.id, T.c.lease_gen)
        ).all()
        conn.execute(update(W).where(W.c.id == owner).values(heartbeat_at=now, paused=paused))
    return {(int(r[0]), int(r[1])) for r in rows}


def due_now(engine: Engine, ids: list[int], mta_id: int, now: datetime) -> int:
    """Messages the MTA deferred that are to be tried again at once (it turned
    out unwell): only rows still deferred by it and not yet due."""
    if not ids:
        return 0
    with engine.begin() as conn:
        return int(
            conn.execute(
                update(T)
                .where(
                    T.c.id.in_(ids),
                    T.c.status == MessageStatus.DEFERRED.value,
                    T.c.last_mta_id == mta_id,
                    T.c.next_attempt_at > now,
                )
                .values(next_attempt_at=now)
            ).rowcount
        )


def give_back(held_by: Any) -> Any:
    """The statement that gives back the ``sending`` rows ``held_by`` matches
    (an owner, or owners): due again as queued or deferred, a new generation."""
    return (
        update(T)
        .where(T.c.status == SENDING, held_by)
        .values(
            status=case((T.c.attempts == 0, MessageStatus.QUEUED.value), else_=MessageStatus.DEFERRED.value),
            lease_owner=None,
            lease_until=None,
            lease_gen=T.c.lease_gen + 1,
        )
    )


def release_held(engine: Engine, owner: str) -> int:
    """Give back every row this worker still holds (a stop that could not finish)."""
    with engine.begin() as conn:
        return int(conn.execute(give_back(T.c.lease_owner == owner)).rowcount)


_RESULT = (
    update(T)
    .where(
        T.c.id == bindparam("b_id"),
        T.c.status == SENDING,
        T.c.lease_owner == bindparam("b_owner"),
        T.c.lease_gen == bindparam("b_gen"),
    )
    .values(
        status=bindparam("b_status"),
        attempts=T.c.attempts + bindparam("b_inc"),
        last_attempt_at=bindparam("b_last"),
        next_attempt_at=bindparam("b_next"),
        last_error=bindparam("b_error"),
        last_mta_id=bindparam("b_mta"),
        server_reply=bindparam("b_reply"),
        sent_at=bindparam("b_sent"),
        lease_owner=None,
        lease_until=None,
    )
)


def result_row(
    msg: Claimed,
    owner: str,
    status: str,
    *,
    now: datetime,
    next_at: datetime | None = None,
    reply: str | None = None,
) -> dict[str, Any]:
    """Parameters of one result update (see ``write``)."""
    return {
        "b_id": msg.id,
        "b_owner": owner,
        "b_gen": msg.gen,
        "b_status": status,
        "b_inc": msg.tries,
        "b_last": now if msg.tries else msg.last_attempt_at,
        "b_next": next_at or msg.next_attempt_at,
        "b_error": msg.last_error,
        "b_mta": msg.last_mta_id,
        "b_reply": reply,
        "b_sent": now if status == MessageStatus.SENT.value else None,
    }


def write(
    engine: Engine,
    results: list[dict[str, Any]],
    attempts: list[dict[str, Any]],
    contacts: dict[int, Contact],
) -> int:
    """One transaction: message results, attempt log rows, MTA health. Returns
    how many results were lost: their row was no longer this claim's (held,
    deleted, or claimed again after the lease ran out) and was left alone."""
    with engine.begin() as conn:
        return _write(conn, results, attempts, contacts)


def _write(
    conn: Connection,
    results: list[dict[str, Any]],
    attempts: list[dict[str, Any]],
    contacts: dict[int, Contact],
) -> int:
    results, attempts = _without_dangling(conn, results, attempts)
    written = 0
    if conn.dialect.name == "sqlite":
        # Plain DB-API executemany with ready-made values: the per-row cost of
        # SQLAlchemy's parameter processing is many times SQLite's own here.
        if results:
            written = conn.exec_driver_sql(rows.RESULT_SQL, [rows.result_tuple(r) for r in results]).rowcount
        if attempts:
            conn.exec_driver_sql(rows.ATTEMPT_SQL, [rows.attempt_tuple(a) for a in attempts])
    else:
        if results:
            written = conn.execute(_RESULT, results).rowcount
        if attempts:
            conn.execute(A.insert(), attempts)
    sealed.erase(conn, [r["b_id"] for r in results])  # a sent/failed message's secret is not kept
    write_contacts(conn, contacts)
    return max(0, len(results) - max(written, 0)) if written >= 0 else 0


def _live_ids(conn: Connection, table: Any, ids: set[int]) -> set[int]:
    """Which of ``ids`` still exist; on PostgreSQL locked (KEY SHARE) against a
    delete until this transaction ends."""
    live: set[int] = set()
    items = sorted(ids)
    for i in range(0, len(items), 500):
        chunk = items[i : i + 500]
        if conn.dialect.name == "sqlite":  # plain SQL: the hot path (see the module doc)
            marks = ",".join("?" * len(chunk))
            rows = conn.exec_driver_sql(f"SELECT id FROM {table.name} WHERE id IN ({marks})", tuple(chunk))
            live.update(int(r[0]) for r in rows)
            continue
        q = select(table.c.id).where(table.c.id.in_(chunk))
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(read=True, key_share=True)
        live.update(int(r[0]) for r in conn.execute(q))
    return live


def _without_dangling(
    conn: Connection, results: list[dict[str, Any]], attempts: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Results and attempt rows with no reference to a message an operator deleted
    or an MTA an operator removed since the attempt: attempts of a deleted message
    are dropped, references to a removed MTA cleared (the attempt keeps its name).
    Otherwise one foreign key would fail the whole batch, and again at every retry."""
    mta_ids = {r["b_mta"] for r in results} | {a["mta_id"] for a in attempts}
    mta_ids.discard(None)
    gone_mtas = mta_ids - _live_ids(conn, M, mta_ids)
    if gone_mtas:
        results = [{**r, "b_mta": None} if r["b_mta"] in gone_mtas else r for r in results]
        attempts = [{**a, "mta_id": None} if a["mta_id"] in gone_mtas else a for a in attempts]
    if attempts:
        live_msgs = _live_ids(conn, T, {a["message_id"] for a in attempts})
        attempts = [a for a in attempts if a["message_id"] in live_msgs]
    return results, attempts
