"""The worker against both stores (PostgreSQL skipped when none is configured),
with the store calls on a helper thread and inline."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ertui import queue, settings
from ertui.store.models import Message
from tests.delivery.conftest import add_mta, fast_settings, run_worker
from tests.smtpd import SmtpServer

T = Message.__table__  # type: ignore[attr-defined]


@pytest.mark.parametrize("db_thread", [True, False])
def test_drain_on_each_store(any_engine: Engine, smtp_server: SmtpServer, db_thread: bool) -> None:
    settings.set_admin_email(any_engine, "admin@example.com")
    add_mta(any_engine, "relay", smtp_server.port, max_connections=3)
    smtp_server.behaviour.rcpt_replies["bad@example.com"] = "550 5.1.1 no such user"
    queue.enqueue_batch(any_engine, [(f"u{i}@example.com", "s", "b") for i in range(60)])
    [bad] = queue.enqueue(any_engine, "bad@example.com", "s", "b")
    run_worker(any_engine, fast_settings(db_thread=db_thread))
    with any_engine.connect() as conn:
        rows = conn.execute(select(T.c.status, func.count()).group_by(T.c.status)).all()
    counts = Counter({str(s): int(n) for s, n in rows})
    assert counts == Counter({"sent": 60, "failed": 1})
    assert len(smtp_server.received) == 60 and smtp_server.max_seen_connections <= 3
    assert "no such user" in (queue.get_message(any_engine, bad).last_error or "")
