"""The rate limit of an MTA: at most N messages a minute through it, counted
across every worker process and host on the store.

The algorithm is a **token bucket of capacity 1** kept in the MTA's row
(``rate_tokens`` left at ``rate_refilled_at``, seconds since the epoch) and
refilled at N/60 tokens a second, slowed by ``SPACING`` — the GCRA form,
sends evenly spaced 1.01 × 60/N seconds apart, like Postfix's
``destination_rate_delay``. The 1 % is for the server, which counts arrivals,
not tokens: a message reaches it some time after its token (the transaction's
round trips), and without it the first token of a minute and the N+1st, 60 s
later, would fall in one minute at the server whenever the first took longer
to arrive than the last. N tokens now span 60.6 s: up to 0.6 s of difference
in arrival times still keeps any 60 s at the server to N messages. A connection
takes one token before it takes a message from the line, with one guarded
statement (``take``): the bucket is refilled and decremented only ``WHERE``
it holds a whole token, so concurrent workers on SQLite (writers serialised)
or PostgreSQL (the row locked by the UPDATE, the guard re-checked) never take
the same token. Hence in any 60-second window at most N messages are handed
to the MTA, and in any 1-second window at most 1 + N/60 (rounded down).

A message left in the line for want of a token is taken by another MTA with
room; the dispatcher claims for a limited MTA only as many messages as its
bucket holds tokens (``room``), so held-back mail stays ``queued`` in the store.
The refill reads the clock of the host that takes the token: hosts sharing a
store keep their clocks in step (NTP), as they must for the leases too.
"""

from __future__ import annotations

import math
import time

from sqlalchemy import case, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from ertui.store.models import Mta

M = Mta.__table__  # type: ignore[attr-defined]
CAPACITY = 1.0  # tokens: no burst beyond one message
SPACING = 1.01  # sends 1 % further apart than 60/N: room for arrival times (module doc)


def _tokens_at(now: float) -> ColumnElement[float]:
    """The bucket's tokens at ``now``, refilled since ``rate_refilled_at``, at most CAPACITY."""
    refilled = M.c.rate_tokens + (now - M.c.rate_refilled_at) * (M.c.rate_limit_per_minute / (60.0 * SPACING))
    return case((refilled > CAPACITY, CAPACITY), else_=refilled)


def take(engine: Engine, mta_id: int, now: float | None = None) -> float:
    """Take one token of the MTA's bucket: 0.0 when taken (or the MTA has no
    limit), else the seconds until the next token (nothing is taken then)."""
    now = time.time() if now is None else now
    tokens = _tokens_at(now)
    stmt = (
        update(M)
        .where(M.c.id == mta_id, M.c.rate_limit_per_minute > 0, tokens >= 1.0)
        .values(rate_tokens=tokens - 1.0, rate_refilled_at=now)
        .returning(M.c.id)
    )
    with engine.begin() as conn:
        if conn.execute(stmt).first() is not None:
            return 0.0
        row = conn.execute(select(M.c.rate_limit_per_minute, tokens).where(M.c.id == mta_id)).first()
    if row is None or int(row[0]) <= 0:
        return 0.0  # no limit (any more), or no such MTA: nothing to wait for
    return max(0.01, (1.0 - float(row[1])) * 60.0 * SPACING / int(row[0]))


def room(engine: Engine, mta_id: int, now: float | None = None) -> int:
    """Whole tokens in the MTA's bucket now (read only): how many messages the
    dispatcher may claim for it."""
    now = time.time() if now is None else now
    with engine.connect() as conn:
        value = conn.execute(select(_tokens_at(now)).where(M.c.id == mta_id)).scalar()
    return 0 if value is None else max(0, math.floor(float(value)))
