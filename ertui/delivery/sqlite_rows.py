"""The worker's hot writes on SQLite as plain DB-API rows (``ertui.delivery.claims``
uses them): the result UPDATE and the attempt INSERT with ready-made values, and
times in the text form SQLAlchemy stores in SQLite (``sqlite_time``), so both
paths write, compare and read the same values."""

from __future__ import annotations

from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from ertui.timeutil import as_utc

RESULT_SQL = (
    "UPDATE message SET status=?, attempts=attempts+?, last_attempt_at=?, next_attempt_at=?, "
    "last_error=?, last_mta_id=?, server_reply=?, sent_at=?, lease_owner=NULL, lease_until=NULL "
    "WHERE id=? AND status='sending' AND lease_owner=? AND lease_gen=?"
)
ATTEMPT_COLUMNS = (
    "started_at",  # first: the one value converted (``attempt_tuple``)
    "message_id",
    "mta_id",
    "mta_description",
    "duration_ms",
    "outcome",
    "kind",
    "code",
    "text",
)
_ATTEMPT_REST = itemgetter(*ATTEMPT_COLUMNS[1:])
ATTEMPT_SQL = f"INSERT INTO attempt ({', '.join(ATTEMPT_COLUMNS)}) VALUES ({', '.join('?' * len(ATTEMPT_COLUMNS))})"


def sqlite_time(value: datetime | None) -> str | None:
    """A time as SQLAlchemy stores it in SQLite (naive UTC text), so that the
    fast path and the ORM write, compare and read the same values."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = as_utc(value)
    # Hot path (four per delivery): the aware text less its "+00:00", which is
    # the naive text without building a second datetime.
    return value.isoformat(" ", "microseconds")[:-6]


def result_tuple(r: dict[str, Any]) -> tuple[Any, ...]:
    t = sqlite_time
    last, sent = r["b_last"], r["b_sent"]
    last_text = t(last)
    return (
        r["b_status"],
        r["b_inc"],
        last_text,
        t(r["b_next"]),
        r["b_error"],
        r["b_mta"],
        r["b_reply"],
        last_text if sent is last else t(sent),  # a sent message: the same time
        r["b_id"],
        r["b_owner"],
        r["b_gen"],
    )


def attempt_tuple(a: dict[str, Any]) -> tuple[Any, ...]:
    return (sqlite_time(a["started_at"]), *_ATTEMPT_REST(a))  # (one per delivery: no generator)
