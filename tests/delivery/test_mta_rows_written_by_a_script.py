"""MTA rows as a script (or a hand-edited store) may leave them: values that
``mta add``/``edit`` refuse. The worker takes each such value as its field's
default, and says so once: a max connections of 10**9 made as many slot rows
(the worker stuck inserting them), a timeout of -5 failed every message
at once, a negative rate limit held mail back for ever."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from ertui import mtas, queue
from ertui.mta_rules import DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT
from ertui.store.models import Mta, MtaSlot
from tests.delivery.conftest import add_mta, fast_settings, run_worker
from tests.smtpd import SmtpServer

BAD_ROWS: list[dict[str, object]] = [
    {"max_connections": 10**9},
    {"max_connections": 0},
    {"timeout": -5.0},
    {"timeout": 1e9},
    {"rate_limit_per_minute": -1},
]


@pytest.mark.parametrize("values", BAD_ROWS, ids=[next(iter(v.items())).__repr__() for v in BAD_ROWS])
def test_a_worker_delivers_through_an_mta_row_out_of_range(
    store: Engine, smtp_server: SmtpServer, values: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    mta = add_mta(store, "scripted", smtp_server.port)
    with store.begin() as conn:
        conn.execute(update(Mta.__table__).where(Mta.__table__.c.id == mta.id).values(**values))  # type: ignore[attr-defined]
    queue.enqueue_batch(store, [(f"u{i}@example.com", "s", "b") for i in range(4)])
    with caplog.at_level(logging.WARNING, logger="ertui.worker"):
        run_worker(store, fast_settings())
    assert queue.count_messages(store, status="sent") == 4
    assert len(smtp_server.received) == 4
    with store.connect() as conn:
        slots = conn.execute(select(func.count()).select_from(MtaSlot.__table__)).scalar_one()  # type: ignore[attr-defined]
    assert slots <= DEFAULT_MAX_CONNECTIONS
    field = next(iter(values))
    said = [r.getMessage() for r in caplog.records if "out of range" in r.getMessage()]
    assert said == [  # once, though the worker reads the row again and again
        f"MTA 'scripted': {field} out of range in the store; the default is used (correct it with `ertui mta edit`)"
    ]


def test_bounded_keeps_a_row_in_range_and_replaces_what_is_not(store: Engine) -> None:
    row = mtas.add(store, description="fine", host="relay.example.com", max_connections=7, timeout=12, rate_limit=30)
    assert mtas.bounded(row) == [] and (row.max_connections, row.timeout, row.rate_limit_per_minute) == (7, 12.0, 30)
    row.max_connections, row.timeout = 101, 0.5
    assert mtas.bounded(row) == ["max_connections", "timeout"]
    assert (row.max_connections, row.timeout) == (DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT)
