"""The worker's SQLite fast path writes times in exactly the text form
SQLAlchemy uses for the same column (naive UTC, microseconds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ertui.delivery import sqlite_rows as rows
from ertui.timeutil import as_utc

TIMES = [
    datetime(2026, 12, 2, 14, 30, 1, 123456, tzinfo=UTC),
    datetime(2026, 12, 2, 14, 30, 1, tzinfo=UTC),  # no microseconds: still six digits
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(2026, 6, 1, 2, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(2026, 12, 2, 14, 30),  # noqa: DTZ001 (naive on purpose: taken as UTC)
]


@pytest.mark.parametrize("when", TIMES)
def test_sqlite_time_is_the_naive_utc_text(when: datetime) -> None:
    assert rows.sqlite_time(when) == as_utc(when).replace(tzinfo=None).isoformat(" ", "microseconds")


def test_sqlite_time_of_none() -> None:
    assert rows.sqlite_time(None) is None


def test_attempt_tuple_follows_the_insert_columns() -> None:
    row = {
        "message_id": 7,
        "mta_id": 2,
        "mta_description": "relay",
        "started_at": TIMES[0],
        "duration_ms": 12,
        "outcome": "sent",
        "kind": None,
        "code": 250,
        "text": "ok",
    }
    values = dict(zip(rows.ATTEMPT_COLUMNS, rows.attempt_tuple(row), strict=True))
    assert values == {**row, "started_at": "2026-12-02 14:30:01.123456"}
    assert rows.ATTEMPT_SQL.count("?") == len(rows.ATTEMPT_COLUMNS) == len(row)
