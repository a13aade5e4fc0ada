"""Connection slots: the store-wide limit on SMTP connections per MTA.

An MTA with ``max_connections = N`` has slot rows ``0 … N-1`` in ``mta_slot``.
A worker must lease a free slot (one atomic, guarded ``UPDATE … RETURNING``)
before it opens a connection, renews its slot leases while it holds them, and
gives the slot back when the connection closes. A slot whose lease ran out
(its worker died) is free again. So however many worker processes share the
store, no MTA ever sees more than ``max_connections`` connections from them;
lowering ``max_connections`` makes the slots at or above the new limit
unleasable, and their holders close those connections.

Fencing: every lease of a slot adds one to its ``gen``; ``acquire`` returns
the (slot, generation) and ``renew`` the ones still held, so a connection
whose slot was lost — even to a later lease by the same worker — is closed.
An expired slot whose owner is a live worker on this host (``protect``: one
stopped with SIGSTOP, its sockets still open) is not taken: the limit is a
count of open connections, and a stopped process still holds them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ertui.store.models import MtaSlot
from ertui.timeutil import utcnow

S = MtaSlot.__table__  # type: ignore[attr-defined]


def _ensure_rows(conn: Connection, mta_id: int, count: int) -> None:
    rows = [{"mta_id": mta_id, "slot_no": i} for i in range(count)]
    if not rows:
        return
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects import sqlite

        conn.execute(sqlite.insert(S).on_conflict_do_nothing(), rows)
    elif name == "postgresql":
        from sqlalchemy.dialects import postgresql

        conn.execute(postgresql.insert(S).on_conflict_do_nothing(), rows)
    else:  # pragma: no cover - other stores
        have = set(conn.scalars(select(S.c.slot_no).where(S.c.mta_id == mta_id)))
        missing = [r for r in rows if r["slot_no"] not in have]
        if missing:
            with contextlib.suppress(IntegrityError):
                conn.execute(S.insert(), missing)


Lease = tuple[int, int]  # (slot_no, gen)


def acquire(
    engine: Engine,
    mta_id: int,
    max_connections: int,
    owner: str,
    lease_seconds: float,
    protect: Collection[str] = (),
) -> Lease | None:
    """Lease a free slot of the MTA: its (number, generation), or None when all
    are taken. A slot whose lease ran out is free unless its owner is in ``protect``."""
    now = utcnow()
    # Never this worker's own expired slot: its connection may still be open
    # (the worker was stopped past the lease), and a second one on the same
    # slot would pass the MTA's limit.
    expired = and_(S.c.lease_until < now, S.c.owner.not_in([*protect, owner]))
    free = and_(
        S.c.mta_id == mta_id,
        S.c.slot_no < max_connections,
        or_(S.c.owner.is_(None), S.c.lease_until.is_(None), expired),
    )
    pick = select(S.c.slot_no).where(free).order_by(S.c.slot_no).limit(1)
    if engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        update(S)
        .where(free, S.c.slot_no == pick.scalar_subquery())
        .values(owner=owner, lease_until=now + timedelta(seconds=lease_seconds), gen=S.c.gen + 1)
        .returning(S.c.slot_no, S.c.gen)
    )
    with engine.begin() as conn:
        _ensure_rows(conn, mta_id, max_connections)
    with engine.begin() as conn:
        row = conn.execute(stmt).first()
    return None if row is None else (int(row[0]), int(row[1]))


def release(engine: Engine, mta_id: int, slot_no: int, owner: str, gen: int | None = None) -> None:
    """Give the slot back, if this lease (owner and generation) still holds it."""
    guard = and_(S.c.mta_id == mta_id, S.c.slot_no == slot_no, S.c.owner == owner)
    if gen is not None:
        guard = and_(guard, S.c.gen == gen)
    with engine.begin() as conn:
        conn.execute(update(S).where(guard).values(owner=None, lease_until=None))


def release_all(engine: Engine, owner: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(S).where(S.c.owner == owner).values(owner=None, lease_until=None))


def renew(engine: Engine, owner: str, lease_seconds: float) -> set[tuple[int, int, int]]:
    """Push on every slot lease of ``owner``; the (mta_id, slot_no, gen) still held."""
    until = utcnow() + timedelta(seconds=lease_seconds)
    with engine.begin() as conn:
        rows = conn.execute(
            update(S).where(S.c.owner == owner).values(lease_until=until).returning(S.c.mta_id, S.c.slot_no, S.c.gen)
        ).all()
    return {(int(r[0]), int(r[1]), int(r[2])) for r in rows}


def leased(engine: Engine) -> dict[int, int]:
    """Slots leased now, per MTA, by every worker sharing the store."""
    now = utcnow()
    with engine.connect() as conn:
        rows = conn.execute(select(S.c.mta_id, S.c.slot_no).where(S.c.owner.is_not(None), S.c.lease_until >= now)).all()
    out: dict[int, int] = {}
    for mta_id, _ in rows:
        out[int(mta_id)] = out.get(int(mta_id), 0) + 1
    return out
