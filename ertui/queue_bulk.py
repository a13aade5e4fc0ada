"""Operator actions on every message that matches a filter (Postfix's
``postsuper -h/-r/-d ALL deferred``, with a filter instead of ALL).

A filter combines, with AND: a status, a recipient domain (exact, any case),
the MTA last tried, an age since queued, and a text (the queue's one search
rule, ``queue.search_condition``: receiver, subject or id, ``#13`` that id
only). The action itself is the queue's own (``queue.retry``, ``hold``,
``release``, ``delete``): the same status guards, so a message a worker holds
right now (``sending``) is never touched, and the same audit. Ids are taken
from the filter in batches of ``BATCH`` (one statement a batch, by id), so a
filter over 100,000 messages never holds the write lock for long.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from ertui import queue, validate
from ertui.errors import Field, ValidationError
from ertui.service.ages import format_age
from ertui.store.engine import store_call
from ertui.store.models import HOLDABLE_STATUSES, UNSENT_STATUSES, Message, MessageStatus, Mta
from ertui.timeutil import MAX_AGE, parse_age, utcnow

T = Message.__table__.c  # type: ignore[attr-defined]
M = Mta.__table__.c  # type: ignore[attr-defined]
BATCH = 1000
MAX_TEXT = 255

STATUS = Field("status", "--status")
DOMAIN = Field("domain", "--domain")
MTA = Field("mta", "--mta")
OLDER_THAN = Field("older_than", "--older-than")
SEARCH = Field("search", "--search")
NEEDS_IDS_OR_FILTER = "Give message ids or a filter (--status, --domain, --mta, --older-than, --search)."
STATUS_CHOICES = ("unsent", "queued", "deferred", "held", "failed", "sent", "all")

#: Each action's verb, and its guard: the messages it may change; other matches
#: are skipped (retry's is the queue's own rule, ``queue.retryable``).
ACTIONS: dict[str, tuple[str, Callable[[], ColumnElement[bool]]]] = {
    "retry": ("retried", queue.retryable),
    "hold": ("held", lambda: T.status.in_(HOLDABLE_STATUSES)),
    "release": ("released", lambda: T.status == MessageStatus.HELD.value),
    "delete": ("deleted", lambda: T.status != MessageStatus.SENDING.value),
}

#: Why a matching message was not changed, per action.
LEFT_ALONE = {
    "retry": queue.NOT_RETRIED,
    "hold": "being sent now, sent or held already",
    "release": "not held",
    "delete": "being sent now",
}


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None
    domain: str | None = None
    mta: str | None = None
    older_than: timedelta | None = None
    search: str | None = None

    @property
    def empty(self) -> bool:
        return not any((self.status, self.domain, self.mta, self.older_than, self.search))

    def describe(self) -> str:
        """The filter in words, for a confirmation: 'status deferred, domain example.com'."""
        parts = []
        if self.status:
            parts.append(f"status {self.status}")
        if self.domain:
            parts.append(f"domain {self.domain}")
        if self.mta:
            parts.append(f"MTA {self.mta}")
        if self.older_than is not None:
            parts.append(f"older than {int(self.older_than.total_seconds() // 60)} min")
        if self.search:
            parts.append(f'matching "{self.search}"')
        return ", ".join(parts) or "every message"


@dataclass(frozen=True)
class BulkResult:
    action: str
    matched: int  # messages the filter names
    changed: int  # messages the action changed (or would change, with dry_run)
    dry_run: bool

    @property
    def skipped(self) -> int:
        """Matched but left alone: in flight with a worker, or in a status the action does not apply to."""
        return self.matched - self.changed

    def sentence(self) -> str:
        verb = ACTIONS[self.action][0]
        would = "would be " if self.dry_run else ""
        text = f"{self.changed} message(s) {would}{verb}."
        if self.skipped:
            text += f" {self.skipped} matching message(s) left alone: {LEFT_ALONE[self.action]}."
        return text


def make_filter(
    *,
    status: str | None = None,
    domain: str | None = None,
    mta: str | None = None,
    older_than: str | None = None,
    search: str | None = None,
) -> QueueFilter:
    """A filter from an operator's words; bad input names the option and the rule."""
    if status is not None and status not in STATUS_CHOICES:
        raise ValidationError(STATUS, f"--status must be one of {', '.join(STATUS_CHOICES)}.")
    age = None
    if older_than is not None:
        age = parse_age(older_than)
        if not age:  # 0 would match every message: a filter that is none
            raise ValidationError(
                OLDER_THAN, f"--older-than must be an age from 1s to {format_age(MAX_AGE)}, such as 30m, 2h or 3d."
            )
    mta, search = (
        None if value is None else validate.filter_text(value, field, MAX_TEXT)
        for value, field in ((mta, MTA), (search, SEARCH))
    )
    return QueueFilter(
        status=status,
        domain=None if domain is None else validate.filter_domain(domain, DOMAIN, MAX_TEXT),
        mta=mta,
        older_than=age,
        search=search,
    )


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def conditions(flt: QueueFilter, now: datetime | None = None) -> list[ColumnElement[bool]]:
    """The filter as WHERE conditions on the message table."""
    where: list[ColumnElement[bool]] = []
    if flt.status == "unsent":
        where.append(T.status.in_(UNSENT_STATUSES))
    elif flt.status not in (None, "all"):
        where.append(T.status == flt.status)
    if flt.domain:
        where.append(func.lower(T.recipient).like(f"%@{_like(flt.domain)}", escape="\\"))
    if flt.mta:
        key = flt.mta.lower()
        by_name = select(M.id).where(func.lower(M.description) == key)
        match = T.last_mta_id.in_(by_name.scalar_subquery())
        if key.isascii() and key.isdigit() and len(key) < 10:
            match = or_(match, T.last_mta_id == int(key))
        where.append(match)
    if flt.older_than is not None:
        where.append(T.created_at <= (now or utcnow()) - flt.older_than)
    text = queue.search_condition(flt.search) if flt.search else None
    if text is not None:  # the queue's own rule: receiver, subject or id (#13: that id)
        where.append(text)
    return where


def _id_batches(engine: Engine, where: list[ColumnElement[bool]]) -> Iterable[list[int]]:
    after = 0
    while True:
        with engine.connect() as conn:
            ids = [int(i) for (i,) in conn.execute(
                select(T.id).where(and_(T.id > after, *where)).order_by(T.id).limit(BATCH)
            )]  # fmt: skip
        if not ids:
            return
        yield ids
        after = ids[-1]


_RUN: dict[str, Callable[[Engine, list[int]], int]] = {
    "retry": queue.retry,
    "hold": queue.hold,
    "release": queue.release,
    "delete": queue.delete,
}


@store_call
def count(engine: Engine, flt: QueueFilter, *, max_id: int | None = None) -> int:
    """How many messages the filter names (with ``max_id``: of those up to that id)."""
    return queue.count_where(engine, _anchored(conditions(flt), max_id))


@store_call
def page(engine: Engine, flt: QueueFilter, *, limit: int, max_id: int | None = None) -> list[Message]:
    """The newest ``limit`` messages the filter names (ids up to ``max_id``): the
    console's Mail Queue lists exactly what its bulk actions act on."""
    return queue.messages_where(engine, _anchored(conditions(flt), max_id), limit=limit)


def _anchored(where: list[ColumnElement[bool]], max_id: int | None) -> list[ColumnElement[bool]]:
    return where if max_id is None else [*where, T.id <= max_id]


@store_call
def apply(engine: Engine, action: str, flt: QueueFilter, *, dry_run: bool = False) -> BulkResult:
    """``action`` (retry, hold, release, delete) on every message ``flt`` names."""
    if action not in ACTIONS:
        raise ValueError(action)
    if flt.empty:
        raise ValidationError(
            STATUS, "Give message ids or a filter (--status, --domain, --mta, --older-than, --search)."
        )
    now = utcnow()
    where = conditions(flt, now)
    matched = queue.count_where(engine, where)
    guard = ACTIONS[action][1]()
    if dry_run:
        return BulkResult(action, matched, queue.count_where(engine, [*where, guard]), True)
    changed = 0
    for ids in _id_batches(engine, [*where, guard]):
        changed += _RUN[action](engine, ids)
    return BulkResult(action, matched, changed, False)


def to_dict(result: BulkResult) -> dict[str, Any]:
    return {
        "action": result.action,
        "matched": result.matched,
        "changed": result.changed,
        "skipped": result.skipped,
        "dry_run": result.dry_run,
    }
