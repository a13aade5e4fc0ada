"""Retention: sent messages are kept 30 days and failed ones 90 by default
(settings in the store, ``ertui retention set``), the audit log a year. The
worker purges what is older at most once an hour across every worker on the
store, in batches of 1,000 rows, each its own short transaction, so a purge of
a million rows never holds the write lock for long. ``queue purge`` stays for
doing it by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, select
from sqlalchemy.engine import Engine

from ertui import audit, settings
from ertui.errors import Field, ValidationError
from ertui.service.ages import format_age
from ertui.store.engine import store_call
from ertui.store.models import Attempt, Message, MessageStatus
from ertui.timeutil import utcnow

KEEP_SENT_KEY = "retention_keep_sent_seconds"
KEEP_FAILED_KEY = "retention_keep_failed_seconds"
LAST_RUN_KEY = "retention_last_run"
DEFAULT_KEEP_SENT = timedelta(days=30)
DEFAULT_KEEP_FAILED = timedelta(days=90)
MIN_KEEP = timedelta(hours=1)
EVERY = timedelta(hours=1)
BATCH = 1000
KEEP_SENT = Field("keep_sent", "Keep sent")
KEEP_FAILED = Field("keep_failed", "Keep failed")

T = Message.__table__  # type: ignore[attr-defined]
A = Attempt.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Retention:
    keep_sent: timedelta
    keep_failed: timedelta


def _stored(engine: Engine, key: str, default: timedelta) -> timedelta:
    raw = settings.get_setting(engine, key)
    try:
        return timedelta(seconds=float(raw)) if raw else default
    except ValueError:
        return default


@store_call
def get(engine: Engine) -> Retention:
    return Retention(
        _stored(engine, KEEP_SENT_KEY, DEFAULT_KEEP_SENT), _stored(engine, KEEP_FAILED_KEY, DEFAULT_KEEP_FAILED)
    )


def _check(age: timedelta, field: Field) -> timedelta:
    if age < MIN_KEEP:
        raise ValidationError(field, f"{field.label} must be at least 1h.")
    return age


@store_call
def set_retention(
    engine: Engine, keep_sent: timedelta | None = None, keep_failed: timedelta | None = None
) -> Retention:
    """Change what is given (both checked before either is written); audited."""
    old = get(engine)
    new = Retention(
        _check(keep_sent, KEEP_SENT) if keep_sent is not None else old.keep_sent,
        _check(keep_failed, KEEP_FAILED) if keep_failed is not None else old.keep_failed,
    )
    changed = []
    if new.keep_sent != old.keep_sent:
        settings.put_setting(engine, KEEP_SENT_KEY, str(new.keep_sent.total_seconds()))
        changed.append(f"keep sent: {format_age(old.keep_sent)} → {format_age(new.keep_sent)}")
    if new.keep_failed != old.keep_failed:
        settings.put_setting(engine, KEEP_FAILED_KEY, str(new.keep_failed.total_seconds()))
        changed.append(f"keep failed: {format_age(old.keep_failed)} → {format_age(new.keep_failed)}")
    if changed:
        audit.record(engine, "retention.set", "; ".join(changed))
    return new


def _guards(policy: Retention, now: datetime) -> list[object]:
    sent_at = func.coalesce(T.c.sent_at, T.c.created_at)
    failed_at = func.coalesce(T.c.last_attempt_at, T.c.created_at)
    return [
        and_(T.c.status == MessageStatus.SENT.value, sent_at < now - policy.keep_sent),
        and_(T.c.status == MessageStatus.FAILED.value, failed_at < now - policy.keep_failed),
    ]


@store_call
def purge_batch(engine: Engine, guard: object, batch: int = BATCH) -> int:
    """Delete at most ``batch`` messages matching ``guard`` (and their attempts)
    in one short transaction; how many went."""
    with engine.begin() as conn:
        ids = [int(i) for (i,) in conn.execute(select(T.c.id).where(guard).limit(batch))]  # type: ignore[arg-type]
        if not ids:
            return 0
        conn.execute(delete(A).where(A.c.message_id.in_(ids)))
        return int(conn.execute(delete(T).where(T.c.id.in_(ids), guard)).rowcount)  # type: ignore[arg-type]


@store_call
def due(engine: Engine, now: datetime | None = None) -> bool:
    """True when no worker purged in the last hour; claims the turn (best effort)."""
    now = now or utcnow()
    raw = settings.get_setting(engine, LAST_RUN_KEY)
    try:
        last = datetime.fromisoformat(raw) if raw else None
    except ValueError:
        last = None
    if last is not None and now - last < EVERY:
        return False
    settings.put_setting(engine, LAST_RUN_KEY, now.isoformat())
    return True


def guards(engine: Engine, now: datetime | None = None) -> list[object]:
    """The conditions of one purge, as the settings say now."""
    return _guards(get(engine), now or utcnow())


def purge_all(engine: Engine, now: datetime | None = None, batch: int = BATCH) -> int:
    """Every batch until nothing is older (synchronous: the worker uses the
    batches one by one, yielding between them); the audit log's year too."""
    total = 0
    for guard in guards(engine, now):
        while n := purge_batch(engine, guard, batch):
            total += n
    audit.expire(engine, now, batch)
    return total
