"""The delivery log: every delivery attempt of every worker on the store.

It reads the attempt table (not one process's stderr), so `ertui log` and the
console's Delivery log see what any worker on any host did. Lines come in id
order; ``--follow`` asks again for ids above the last one it printed (an
index lookup: cheap on an idle store).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ertui import validate
from ertui.errors import Field, ValidationError
from ertui.service.ages import format_age
from ertui.store.engine import store_call
from ertui.store.models import Attempt, Message, Mta
from ertui.timeutil import MAX_AGE, as_utc, parse_age, utcnow

SINCE = Field("since", "--since")
DOMAIN = Field("domain", "--domain")
MTA = Field("mta", "--mta")
FAILED_OUTCOMES = ("deferred", "failed", "mta_error")
MAX_FILTER = 255
POLL_SECONDS = 0.5  # --follow asks at most this often


@dataclass(frozen=True)
class LogFilter:
    """Which attempts: through one MTA (id or description), to one recipient
    domain, failures only, since a time. Empty: every attempt."""

    mta: str | None = None
    domain: str | None = None
    failed: bool = False
    since: datetime | None = None


@dataclass(frozen=True)
class LogLine:
    id: int
    at: datetime
    message_id: int
    mta: str
    recipient: str
    outcome: str
    code: int | None
    text: str
    duration_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": as_utc(self.at).isoformat(timespec="seconds"),
            "message_id": self.message_id,
            "mta": self.mta,
            "recipient": self.recipient,
            "outcome": self.outcome,
            "code": self.code,
            "text": self.text,
            "duration_ms": self.duration_ms,
        }

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED_OUTCOMES


def make_filter(
    *, mta: str | None = None, domain: str | None = None, failed: bool = False, since: str | None = None
) -> LogFilter:
    """A filter from an operator's words; bad input names the option."""
    when = None
    if since is not None:
        age = parse_age(since)
        if age is None:
            raise ValidationError(
                SINCE, f"--since must be an age of at most {format_age(MAX_AGE)}, such as 90s, 30m, 2h or 3d."
            )
        when = utcnow() - age
    mta = None if mta is None else validate.filter_text(mta, MTA, MAX_FILTER)
    domain = None if domain is None else validate.filter_domain(domain, DOMAIN, MAX_FILTER)
    return LogFilter(mta=mta, domain=domain, failed=failed, since=when)


A = Attempt.__table__.c  # type: ignore[attr-defined]
M = Message.__table__.c  # type: ignore[attr-defined]
T = Mta.__table__.c  # type: ignore[attr-defined]


@store_call
def read(engine: Engine, flt: LogFilter | None = None, *, after_id: int = 0, limit: int = 1000) -> list[LogLine]:
    """Attempts with an id above ``after_id`` that match, oldest first, at most ``limit``."""
    flt = flt or LogFilter()
    mta_name = func.coalesce(A.mta_description, T.description, "—")
    columns = (A.id, A.started_at, A.message_id, mta_name, M.recipient, A.outcome, A.code, A.text, A.duration_ms)
    query: Any = (
        select(*columns)
        .select_from(Attempt.__table__.join(Message.__table__, M.id == A.message_id))  # type: ignore[attr-defined]
        .outerjoin(Mta.__table__, T.id == A.mta_id)  # type: ignore[attr-defined]
        .where(A.id > after_id)
        .order_by(A.id)
        .limit(limit)
    )
    if flt.since is not None:
        query = query.where(A.started_at >= flt.since)
    if flt.failed:
        query = query.where(A.outcome.in_(FAILED_OUTCOMES))
    if flt.domain is not None:
        query = query.where(func.lower(M.recipient).like(f"%@{_like(flt.domain)}", escape="\\"))
    if flt.mta is not None:
        key = flt.mta.lower()
        match = func.lower(mta_name) == key
        number = validate.digits(key, 9)  # ASCII digits only: int('²') raises
        if number is not None:
            match = match | (A.mta_id == number)
        query = query.where(match)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [LogLine(r[0], r[1], r[2], str(r[3]), r[4], r[5], r[6], r[7] or "", r[8] or 0) for r in rows]


@store_call
def last_id(engine: Engine) -> int:
    """The newest attempt's id (0 for none): where ``--follow`` starts without ``--since``."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(A.id), 0))).scalar_one())


def tail_start(engine: Engine, flt: LogFilter, backlog: int) -> int:
    """The id after which a follower starts: the last ``backlog`` attempts are shown first."""
    newest = last_id(engine)
    return 0 if flt.since is not None else max(0, newest - backlog)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
