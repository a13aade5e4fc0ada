"""Queue shape (Postfix's qshape idea): where mail waits, and since when.

Rows are recipient domains (or the MTA last tried), columns the age of the
message since it was queued, in qshape's buckets: under 5 minutes, 5–10,
10–20, … 640–1280, and over 1280 minutes. A message exactly 5 minutes old is
in the 5–10 bucket (each bucket holds ages from its lower edge up to, not
including, its upper one).

One aggregation in the database (GROUP BY key and bucket), never a loop over
rows in Python: the bucket is a CASE over ``created_at`` against edges computed
once, so the same statement runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.engine import Engine

from ertui.errors import Field, ValidationError
from ertui.store.engine import store_call
from ertui.store.models import UNSENT_STATUSES, Message, MessageStatus, Mta
from ertui.timeutil import utcnow

#: Upper edges of the buckets in minutes; the last bucket has none.
EDGES_MINUTES: tuple[int, ...] = (5, 10, 20, 40, 80, 160, 320, 640, 1280)
BUCKETS: tuple[str, ...] = (
    "0-5m",
    *(f"{lo}-{hi}m" for lo, hi in pairwise(EDGES_MINUTES)),
    f"{EDGES_MINUTES[-1]}m+",
)
BY_CHOICES = ("domain", "mta")
STATUS_CHOICES = ("unsent", "deferred", "failed", "held", "all")
NO_MTA = "(none yet)"

BY = Field("by", "--by")
STATUS = Field("status", "--status")
TOP = Field("top", "--top")


@dataclass(frozen=True)
class ShapeRow:
    key: str
    total: int
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Shape:
    by: str
    status: str
    total: ShapeRow  # every message that matched, all keys together
    rows: list[ShapeRow] = field(default_factory=list)  # largest totals first

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form: the TOTAL row is not among ``rows``."""
        return {
            "by": self.by,
            "status": self.status,
            "buckets": list(BUCKETS),
            "rows": [{"key": r.key, "total": r.total, "counts": list(r.counts)} for r in self.rows],
        }


def statuses_for(status: str) -> tuple[str, ...] | None:
    """The message statuses a ``--status`` choice covers (None: every status)."""
    if status == "unsent":
        return UNSENT_STATUSES
    if status == "all":
        return None
    if status in (MessageStatus.DEFERRED.value, MessageStatus.FAILED.value, MessageStatus.HELD.value):
        return (status,)
    raise ValidationError(STATUS, f"--status must be one of {', '.join(STATUS_CHOICES)}.")


@store_call
def shape(
    engine: Engine, *, by: str = "domain", status: str = "unsent", top: int | None = None, now: datetime | None = None
) -> Shape:
    """The queue's shape by recipient domain or by the MTA last tried."""
    if by not in BY_CHOICES:
        raise ValidationError(BY, f"--by must be one of {', '.join(BY_CHOICES)}.")
    statuses = statuses_for(status)
    if top is not None and top < 1:
        raise ValidationError(TOP, "--top must be a whole number of 1 or more.")
    moment = now or utcnow()
    edges = [moment - timedelta(minutes=m) for m in EDGES_MINUTES]
    bucket = case(
        *((Message.created_at > edge, literal(i)) for i, edge in enumerate(edges)),  # type: ignore[arg-type]
        else_=literal(len(edges)),
    ).label("bucket")
    key: Any
    if by == "domain":
        at = (
            func.instr(Message.recipient, "@")
            if engine.dialect.name == "sqlite"
            else func.strpos(Message.recipient, "@")
        )
        key = func.lower(func.substr(Message.recipient, at + 1))
        query = select(key.label("key"), bucket, func.count().label("n")).select_from(Message)
    else:
        key = func.coalesce(Mta.description, NO_MTA)
        query = (
            select(key.label("key"), bucket, func.count().label("n"))
            .select_from(Message)
            .outerjoin(Mta, Mta.id == Message.last_mta_id)  # type: ignore[arg-type]
        )
    if statuses is not None:
        query = query.where(Message.status.in_(statuses))  # type: ignore[attr-defined]
    query = query.group_by(key, bucket)
    with engine.connect() as conn:
        found = conn.execute(query).all()
    per_key: dict[str, list[int]] = {}
    for row_key, row_bucket, n in found:
        per_key.setdefault(str(row_key), [0] * len(BUCKETS))[int(row_bucket)] += int(n)
    rows = [ShapeRow(k, sum(c), tuple(c)) for k, c in per_key.items()]
    rows.sort(key=lambda r: (-r.total, r.key))
    totals = tuple(sum(r.counts[i] for r in rows) for i in range(len(BUCKETS)))
    return Shape(by=by, status=status, total=ShapeRow("TOTAL", sum(totals), totals), rows=rows[:top] if top else rows)
