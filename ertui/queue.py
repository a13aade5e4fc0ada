"""The mail queue: enqueue, list, show, and the operator's actions (its counts,
``stats``, are ``ertui.queue_stats``, re-exported here).

Message states (see DESIGN.md): ``queued`` → ``sending`` → ``sent``;
``sending`` → ``deferred`` (due again at ``next_attempt_at``) → ``sending`` …;
``sending`` → ``failed``; any unsent state except ``sending`` ⇄ ``held``;
``failed`` → ``queued`` by retry. The worker's own statements (claim, lease,
results) live in ``ertui.delivery.claims``; connection slots in ``ertui.delivery.slots``.

Listings are newest first (highest id first) and always paged (``limit``,
``offset``), so a queue of 100,000 rows never loads every row; ``raw`` (the
rendered bytes) is not loaded by listings.

A message whose body holds a secret (password recovery) is kept sealed: its
body masked, its bytes encrypted (``ertui.store.sealed``).

Lifetime: a message not delivered within ``lifetime`` (the delivery policy's,
``ertui.delivery_policy``: default 5 days, ``$ERTUI_MESSAGE_LIFETIME`` seconds
overrides) of being enqueued fails with that reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import defer
from sqlalchemy.sql.elements import ColumnElement

from ertui import audit, delivery_policy, render, settings, validate
from ertui.errors import Field, NotFoundError, ValidationError
from ertui.queue_stats import QueueStats as QueueStats
from ertui.queue_stats import stats as stats
from ertui.store import sealed
from ertui.store.engine import session, store_call
from ertui.store.models import (
    DUE_STATUSES,
    HOLDABLE_STATUSES,
    MAX_ID,
    UNSENT_STATUSES,
    Attempt,
    Message,
    MessageKind,
    MessageStatus,
    Mta,
)
from ertui.store.vault import Vault
from ertui.timeutil import utcnow

ENV_LIFETIME = delivery_policy.LIFETIME.env

STATUS_CHOICES = (*(s.value for s in MessageStatus), "unsent", "all")

T = Message.__table__  # type: ignore[attr-defined]
A = Attempt.__table__  # type: ignore[attr-defined]
_CHUNK = 500
MAX_PURGE_DAYS = 36_500


# -- enqueue ---------------------------------------------------------------------


@store_call
def enqueue(
    engine: Engine,
    to: str | list[str],
    subject: str,
    body: str,
    kind: MessageKind = MessageKind.NOTIFICATION,
    *,
    lifetime: timedelta | None = None,
) -> list[int]:
    """One message per recipient; returns the new ids in recipient order."""
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise ValidationError(validate.TO, "To needs at least one email address.")
    return enqueue_batch(engine, [(r, subject, body) for r in recipients], kind, lifetime=lifetime)


@store_call
def enqueue_batch(
    engine: Engine,
    items: Sequence[tuple[str, str, str]],
    kind: MessageKind = MessageKind.NOTIFICATION,
    *,
    lifetime: timedelta | None = None,
) -> list[int]:
    """Many messages ``(recipient, subject, body)`` in one transaction; everything
    is validated before anything is written (``prepare_batch``)."""
    rows = prepare_batch(engine, items, kind, lifetime=lifetime)
    with engine.begin() as conn:
        return insert_rows(conn, rows)


def prepare_batch(
    engine: Engine,
    items: Sequence[tuple[str, str, str]],
    kind: MessageKind = MessageKind.NOTIFICATION,
    *,
    lifetime: timedelta | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``enqueue_batch``, validated and each rendered to its final
    bytes, once; written by ``insert_rows`` (in the caller's transaction)."""
    who = settings.sender(engine)
    sender = who.address
    host = settings.message_id_domain(engine, sender)
    now = utcnow()
    expires = now + (lifetime if lifetime is not None else delivery_policy.message_lifetime(engine))
    date = render.date_header(now)
    check = validate.email_checker(validate.TO)
    subjects: set[str] = set()
    rows: list[dict[str, Any]] = []
    vault = Vault.load() if kind.value in sealed.SEALED_KINDS else None
    base: dict[str, Any] = {"kind": kind.value, "sender": sender, "status": MessageStatus.QUEUED.value, "attempts": 0}
    base.update(created_at=now, next_attempt_at=now, expires_at=expires)
    for recipient, subject, body in items:
        address = check(recipient)
        if subject not in subjects:
            validate.subject(subject, validate.SUBJECT)
            subjects.add(subject)
        if "\0" in body:
            raise ValidationError(validate.BODY, "Body must not contain NUL characters.")
        if not body.isascii():
            validate.utf8_text(body, validate.BODY)
        mid = render.new_message_id(host)
        fields = {"sender": sender, "recipient": address, "subject": subject, "message_id": mid, "date": date}
        raw = render.render(body=body, from_name=who.name, reply_to=who.reply_to, **fields)
        if vault is not None:  # a secret in the body: kept sealed, shown masked (store.sealed)
            body = sealed.mask_tokens(body)
            masked = render.render(body=body, from_name=who.name, reply_to=who.reply_to, **fields)
            raw = sealed.seal(raw, masked, vault)
        rows.append(dict(base, recipient=address, subject=subject, body=body, message_id=mid, raw=raw))
    return rows


def insert_rows(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows from ``prepare_batch`` in ``conn``'s transaction; the new ids in order."""
    if not rows:
        return []
    if conn.dialect.name == "sqlite":
        # One executemany; inside this write transaction nobody else inserts,
        # so the new rowids are the next len(rows) integers.
        conn.execute(insert(T), rows)
        last = int(conn.execute(select(func.max(T.c.id))).scalar_one())
        return list(range(last - len(rows) + 1, last + 1))
    stmt = insert(T).returning(T.c.id, sort_by_parameter_order=True)
    return [int(r[0]) for r in conn.execute(stmt, rows)]


# -- reading ---------------------------------------------------------------------


def _status_filter(status: str) -> ColumnElement[bool] | None:
    if status == "all":
        return None
    if status == "unsent":
        return T.c.status.in_(UNSENT_STATUSES)  # type: ignore[no-any-return]
    if status not in STATUS_CHOICES:
        raise ValidationError(
            Field("status", "Status"), f"Status must be one of {', '.join(STATUS_CHOICES)}, not {status!r}."
        )
    return T.c.status == status  # type: ignore[no-any-return]


def search_condition(text: str) -> ColumnElement[bool] | None:
    """The one text-search rule of the queue (the list, the console's filter and the
    bulk actions' ``--search``): the receiver or subject contains ``text`` (any case),
    or the message's id is that number; ``#13`` names message 13 and nothing else.
    None for an empty text (raises ValidationError for one too long)."""
    text = validate.search(text) if text else ""
    if not text:
        return None
    wanted = validate.digits(text[1:]) if text.startswith("#") else None
    if wanted is not None:  # "#13": the message with that id, nothing else
        return T.c.id == wanted  # type: ignore[no-any-return]
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    alts = [
        T.c.recipient.ilike(pattern, escape="\\"),
        T.c.subject.ilike(pattern, escape="\\"),
    ]
    number = validate.digits(text)
    if number is not None and number <= MAX_ID:
        alts.append(T.c.id == number)
    return or_(*alts)


def _filters(status: str, search: str | None, max_id: int | None = None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    flt = _status_filter(status)
    if flt is not None:
        where.append(flt)
    if max_id is not None:  # a page anchored on an id: mail that arrives later does not move it
        where.append(T.c.id <= max_id)
    text = search_condition(search or "")
    if text is not None:
        where.append(text)
    return where


@store_call
def list_messages(
    engine: Engine,
    *,
    status: str = "unsent",
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
    max_id: int | None = None,
) -> list[Message]:
    """A page of messages, newest first; ``search`` matches recipient, subject or id
    (``#13``: that id only); ``max_id``: only ids up to it."""
    return messages_where(engine, _filters(status, search, max_id), limit=limit, offset=offset)


def messages_where(
    engine: Engine, where: Sequence[ColumnElement[bool]], *, limit: int = 50, offset: int = 0
) -> list[Message]:
    """A page of the messages that meet every condition of ``where``, newest first,
    without their bytes (``queue_bulk.page`` reads a filter's page through it)."""
    # The page's ids first (from the (status, id) index, no row data), then the rows.
    page = select(T.c.id).where(*where).order_by(T.c.id.desc()).limit(max(0, limit)).offset(max(0, offset))
    q = (
        select(Message).where(T.c.id.in_(page.scalar_subquery())).order_by(T.c.id.desc()).options(defer(Message.raw))  # type: ignore[arg-type]
    )
    with session(engine) as s:
        return list(s.scalars(q).all())


@store_call
def count_messages(
    engine: Engine, *, status: str = "unsent", search: str | None = None, max_id: int | None = None
) -> int:
    return count_where(engine, _filters(status, search, max_id))


def count_where(engine: Engine, where: Sequence[ColumnElement[bool]]) -> int:
    """How many messages meet every condition of ``where``."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(T).where(*where)).scalar_one())


@store_call
def get_message(engine: Engine, id: int) -> Message:
    with session(engine) as s:
        msg = s.get(Message, int(id)) if 0 < int(id) <= MAX_ID else None
        if msg is None:
            raise NotFoundError(f"There is no message with the id {id}.")
        return msg


@store_call
def attempts_for(engine: Engine, id: int) -> list[Attempt]:
    """The attempt log of a message, oldest first."""
    if not 0 < int(id) <= MAX_ID:
        return []
    with session(engine) as s:
        q = select(Attempt).where(A.c.message_id == int(id)).order_by(A.c.id)
        return list(s.scalars(q).all())


@store_call
def mta_names(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(Mta.__table__.c.id, Mta.__table__.c.description))  # type: ignore[attr-defined]
        return {int(r[0]): str(r[1]) for r in rows}


# -- operator actions ----------------------------------------------------------------


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    items = sorted({int(i) for i in ids if 0 < int(i) <= MAX_ID})
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _update(engine: Engine, ids: Iterable[int], guard: ColumnElement[bool], **values: Any) -> int:
    n = 0
    with engine.begin() as conn:
        for chunk in _chunks(ids):
            n += conn.execute(update(T).where(T.c.id.in_(chunk), guard).values(**values)).rowcount
    return n


@store_call
def retry(engine: Engine, ids: Iterable[int]) -> int:
    """Make messages due now: queued/deferred → due now; failed → queued, due now,
    with a new lifetime from now. History is never rewritten: ``attempts`` keeps
    counting the attempts in the message's log. Held and sending messages are
    left alone. Returns how many changed."""
    now = utcnow()
    ids = list(ids)
    # Waiting ones first, so a failed message just queued is not counted twice.
    n = _update(engine, ids, T.c.status.in_(DUE_STATUSES), next_attempt_at=now)
    n += _update(engine, ids, _resendable_failed(), **_requeue(engine, now))
    return audit.record_bulk(engine, "queue.retry", n, ids)


def _resendable_failed() -> ColumnElement[bool]:
    """Failed messages that can be sent again: not a password-recovery email,
    whose link was erased when it failed (``store.sealed``): resent, it would
    carry a masked link that works for no one. A new one is `ertui user recover`."""
    return and_(T.c.status == MessageStatus.FAILED.value, T.c.kind.not_in(sealed.SEALED_KINDS))


def retryable() -> ColumnElement[bool]:
    """What ``retry`` changes (its guard, for a count before acting)."""
    return or_(T.c.status.in_(DUE_STATUSES), _resendable_failed())


NOT_RETRIED = (
    "sent, held, being sent now, or a failed password-recovery email "
    "(its link was erased; send a new one with `ertui user recover`)"
)


def _requeue(engine: Engine, now: datetime) -> dict[str, Any]:
    """What retry sets on a failed message: queued, due now, a new lifetime
    (the delivery policy's, as for new mail)."""
    return {
        "status": MessageStatus.QUEUED.value,
        "next_attempt_at": now,
        "expires_at": now + delivery_policy.message_lifetime(engine),
    }


@store_call
def retry_all_failed(engine: Engine) -> int:
    with engine.begin() as conn:
        stmt = update(T).where(_resendable_failed()).values(**_requeue(engine, utcnow()))
        n = int(conn.execute(stmt).rowcount)
    return audit.record_bulk(engine, "queue.retry_all_failed", n)


@store_call
def missing_ids(engine: Engine, ids: Iterable[int]) -> list[int]:
    """Those of ``ids`` that name no message, in ascending order."""
    wanted = sorted({int(i) for i in ids})
    found: set[int] = set()
    with engine.connect() as conn:
        for chunk in _chunks(wanted):
            found.update(int(r[0]) for r in conn.execute(select(T.c.id).where(T.c.id.in_(chunk))))
    return [i for i in wanted if i not in found]


@store_call
def hold(engine: Engine, ids: Iterable[int]) -> int:
    """Hold queued, deferred or failed messages (a message being sent is left alone)."""
    ids = list(ids)
    n = _update(
        engine,
        ids,
        T.c.status.in_(HOLDABLE_STATUSES),
        held_from=T.c.status,
        status=MessageStatus.HELD.value,
    )
    return audit.record_bulk(engine, "queue.hold", n, ids)


@store_call
def release(engine: Engine, ids: Iterable[int]) -> int:
    """Held messages go back to the state they were held from."""
    ids = list(ids)
    n = _update(
        engine,
        ids,
        T.c.status == MessageStatus.HELD.value,
        status=func.coalesce(T.c.held_from, MessageStatus.QUEUED.value),
        held_from=None,
    )
    return audit.record_bulk(engine, "queue.release", n, ids)


@store_call
def delete(engine: Engine, ids: Iterable[int]) -> int:
    """Delete messages (and their attempt logs), whatever their state."""
    ids = list(ids)
    n = 0
    with engine.begin() as conn:
        for chunk in _chunks(ids):
            conn.execute(A.delete().where(A.c.message_id.in_(chunk)))
            n += conn.execute(T.delete().where(T.c.id.in_(chunk))).rowcount
    return audit.record_bulk(engine, "queue.delete", n, ids)


@store_call
def purge_sent(engine: Engine, older_than_days: float) -> int:
    """Delete sent messages delivered more than ``older_than_days`` ago."""
    if not 0 <= older_than_days <= MAX_PURGE_DAYS:  # (NaN fails this too)
        raise ValidationError(Field("older_than_days", "Days"), f"Days must be a number from 0 to {MAX_PURGE_DAYS}.")
    cutoff = utcnow() - timedelta(days=older_than_days)
    guard = and_(T.c.status == MessageStatus.SENT.value, T.c.sent_at < cutoff)
    with engine.begin() as conn:
        doomed = select(T.c.id).where(guard).scalar_subquery()
        conn.execute(sql_delete(A).where(A.c.message_id.in_(doomed)))
        n = int(conn.execute(sql_delete(T).where(guard)).rowcount)
    return audit.record_bulk(engine, "queue.purge", n, None)


# -- output -------------------------------------------------------------------------
