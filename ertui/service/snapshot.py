"""What monitoring reads from the store, in three small queries: the message
table in ONE aggregation (count per status, the oldest waiting message, the
failures of the last 24 h), the MTAs' health, the workers' heartbeats. The
metrics, the check and the worker's STATUS line all read this snapshot, so the
three say the same thing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine

from ertui.store.engine import store_call
from ertui.store.models import WAITING_STATUSES, WORKER_LIVE_WITHIN, Message, MessageStatus, Mta, WorkerRecord
from ertui.timeutil import as_utc, utcnow

FAILED_WINDOW = timedelta(hours=24)
# A worker renews its heartbeat every lease_seconds/3 (10 s by default).


@dataclass(frozen=True)
class MtaHealth:
    id: int
    description: str
    enabled: bool
    up: bool  # enabled, not cooling down, and its last attempt did not fail


@dataclass(frozen=True)
class Snapshot:
    at: datetime
    counts: dict[str, int]
    oldest_unsent_seconds: float  # the oldest message waiting to be sent (0: none)
    failed_24h: int
    mtas: list[MtaHealth] = field(default_factory=list)
    last_heartbeat: datetime | None = None
    live_workers: int = 0
    paused_workers: int = 0

    @property
    def unsent(self) -> int:
        return sum(self.counts[s] for s in WAITING_STATUSES)

    @property
    def enabled_mtas(self) -> list[MtaHealth]:
        return [m for m in self.mtas if m.enabled]

    @property
    def mtas_up(self) -> int:
        return sum(1 for m in self.mtas if m.up)

    def status_line(self) -> str:
        """The worker's systemd STATUS: ``12 queued, 2/2 MTAs up``."""
        return f"{self.unsent} queued, {self.mtas_up}/{len(self.enabled_mtas)} MTAs up"


def _dt(value: object) -> datetime | None:
    if value is None:
        return None
    return as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


@store_call
def take(engine: Engine, now: datetime | None = None) -> Snapshot:
    now = now or utcnow()
    T = Message.__table__  # type: ignore[attr-defined]
    M = Mta.__table__  # type: ignore[attr-defined]
    W = WorkerRecord.__table__  # type: ignore[attr-defined]
    recent_failure = and_(T.c.status == MessageStatus.FAILED.value, T.c.last_attempt_at >= now - FAILED_WINDOW)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                T.c.status,
                func.count(),
                func.min(T.c.created_at),
                func.sum(case((recent_failure, 1), else_=0)),
            ).group_by(T.c.status)
        ).all()
        mta_rows = conn.execute(
            select(M.c.id, M.c.description, M.c.enabled, M.c.cooldown_until, M.c.consecutive_failures).order_by(M.c.id)
        ).all()
        workers = conn.execute(select(W.c.heartbeat_at, W.c.paused)).all()
    counts = {s.value: 0 for s in MessageStatus}
    oldest: datetime | None = None
    failed = 0
    for status, n, first, fails in rows:
        counts[str(status)] = int(n)
        failed += int(fails or 0)
        first_dt = _dt(first)
        if str(status) in WAITING_STATUSES and first_dt is not None and (oldest is None or first_dt < oldest):
            oldest = first_dt
    health = []
    for mid, desc, enabled, cooldown, failures in mta_rows:
        until = _dt(cooldown)
        cooling = until is not None and until > now
        health.append(MtaHealth(int(mid), str(desc), bool(enabled), bool(enabled) and not cooling and not failures))
    beats = [(_dt(b), bool(p)) for b, p in workers]
    live = [(b, p) for b, p in beats if b is not None and b >= now - WORKER_LIVE_WITHIN]
    last = max((b for b, _ in beats if b is not None), default=None)
    return Snapshot(
        at=now,
        counts=counts,
        oldest_unsent_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        failed_24h=failed,
        mtas=health,
        last_heartbeat=last,
        live_workers=len(live),
        paused_workers=sum(1 for _, p in live if p),
    )
