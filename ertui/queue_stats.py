"""The queue's counts for the status bar and ``ertui queue stats``: messages
per status, the age of the oldest unsent one, the live workers, and why
nothing moves when nothing does (``stalled_reason``).

Re-exported by ``ertui.queue``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ertui import settings
from ertui.store.engine import store_call
from ertui.store.models import WAITING_STATUSES, WORKER_LIVE_WITHIN, Message, MessageStatus, Mta, WorkerRecord
from ertui.timeutil import as_utc, utcnow

# A worker whose heartbeat is older than this is taken for dead by `stats`.

T = Message.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class QueueStats:
    counts: dict[str, int]
    oldest_unsent_age: timedelta | None  # oldest message still waiting to be delivered
    stalled_reason: str | None  # why nothing moves, when it does not
    workers: int = 0  # workers with a recent heartbeat

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(s, 0) for s in WAITING_STATUSES)


@store_call
def stats(engine: Engine) -> QueueStats:
    now = utcnow()
    with engine.connect() as conn:
        counts = {s.value: 0 for s in MessageStatus}
        for status, n in conn.execute(select(T.c.status, func.count()).group_by(T.c.status)):
            counts[str(status)] = int(n)
        oldest = conn.execute(select(func.min(T.c.created_at)).where(T.c.status.in_(WAITING_STATUSES))).scalar()
        W = WorkerRecord.__table__  # type: ignore[attr-defined]
        live = conn.execute(select(W.c.paused).where(W.c.heartbeat_at >= now - WORKER_LIVE_WITHIN)).all()
        M = Mta.__table__  # type: ignore[attr-defined]
        enabled = conn.execute(select(M.c.description, M.c.cooldown_until, M.c.last_error).where(M.c.enabled)).all()
    age = None
    if oldest is not None:
        oldest_dt = oldest if isinstance(oldest, datetime) else datetime.fromisoformat(oldest)
        age = max(timedelta(0), now - as_utc(oldest_dt))
    waiting = sum(counts[s] for s in WAITING_STATUSES)
    reason: str | None = None
    if waiting:
        cooling = [r for r in enabled if r[1] is not None and as_utc(r[1]) > now]
        if not enabled:
            reason = "no MTA is enabled (enable one with `ertui mta enable MTA`)"
        elif len(cooling) == len(enabled):
            first = cooling[0]
            reason = (
                f"every enabled MTA is failing and cooling down (last error of {first[0]!r}: {first[2] or 'unknown'})"
            )
        elif not live:
            reason = "no worker is running (start one with `ertui worker`)"
        elif all(bool(p) for (p,) in live):
            reason = "every worker is paused"
    if reason is None and not settings.admin_email(engine):
        reason = "the administrator has no email address, so nothing can be enqueued"
    return QueueStats(counts=counts, oldest_unsent_age=age, stalled_reason=reason, workers=len(live))
