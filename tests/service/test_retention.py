"""Retention: old sent/failed messages purged in batches of 1,000 by the
worker at most once an hour, newer ones and unsent ones kept, delivery going on."""

from __future__ import annotations

import signal
from collections import Counter
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from ertui import audit, queue
from ertui.cli import cli
from ertui.service import retention
from ertui.store.models import Attempt, Message
from ertui.timeutil import utcnow
from tests.service.conftest import SmtpServer, add_mta, finish, start_worker, wait_for

T = Message.__table__  # type: ignore[attr-defined]
A = Attempt.__table__  # type: ignore[attr-defined]


def make(engine: Engine, n: int, status: str, days_ago: float, tag: str) -> list[int]:
    ids = queue.enqueue_batch(engine, [(f"{tag}{i}@example.com", "s", "b") for i in range(n)])
    when = utcnow() - timedelta(days=days_ago)
    with engine.begin() as conn:
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            conn.execute(update(T).where(T.c.id.in_(chunk)).values(status=status, sent_at=when, last_attempt_at=when))
    return ids


def statuses(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter({s: n for s, n in conn.execute(select(T.c.status, func.count()).group_by(T.c.status))})


def test_worker_purges_5000_old_sent_in_batches_while_delivering(
    store: Engine, db_url: str, smtp_server: SmtpServer
) -> None:
    add_mta(store, "A", smtp_server.port)
    make(store, 5000, "sent", 31, "old")
    recent = make(store, 100, "sent", 29, "new")
    old_failed = make(store, 10, "failed", 91, "of")
    recent_failed = make(store, 10, "failed", 89, "nf")
    held_old = make(store, 5, "held", 400, "h")
    with store.begin() as conn:  # an attempt row of an old message goes with it
        conn.execute(A.insert().values(message_id=old_failed[0], started_at=utcnow(), outcome="failed", duration_ms=1))
    queue.enqueue_batch(store, [(f"q{i}@example.com", "s", "b") for i in range(50)])
    proc = start_worker(db_url)
    try:
        wait_for(lambda: statuses(store)["sent"] == 150, "old sent purged and the 50 new delivered", 60)
        wait_for(lambda: statuses(store)["failed"] == 10, "old failed purged")
    finally:
        proc.send_signal(signal.SIGTERM)
        code, err = finish(proc)
    assert code == 0, err
    assert len(smtp_server.received) == 50
    with store.connect() as conn:
        kept = {int(i) for (i,) in conn.execute(select(T.c.id).where(T.c.status.in_(["sent", "failed", "held"])))}
        assert conn.execute(select(func.count()).select_from(A).where(A.c.message_id == old_failed[0])).scalar() == 0
    assert set(recent) | set(recent_failed) | set(held_old) <= kept
    assert "retention failed" not in err and "Traceback" not in err


def test_purge_batch_takes_at_most_a_thousand(store: Engine) -> None:
    make(store, 2500, "sent", 40, "o")
    make(store, 3, "sent", 1, "n")
    guards = retention.guards(store)
    assert [retention.purge_batch(store, guards[0]) for _ in range(4)] == [1000, 1000, 500, 0]
    assert statuses(store) == Counter({"sent": 3})


def test_a_purge_runs_at_most_once_an_hour_across_workers(store: Engine) -> None:
    now = utcnow()
    assert retention.due(store, now) is True
    assert retention.due(store, now + timedelta(minutes=59)) is False
    assert retention.due(store, now + timedelta(minutes=61)) is True


def test_the_audit_log_is_kept_a_year(store: Engine) -> None:
    audit.record(store, "host.set", "old")
    audit.record(store, "host.set", "new")
    n = len(audit.entries(store))
    assert n >= 2
    assert audit.expire(store, utcnow() + timedelta(days=364)) == 0
    assert audit.expire(store, utcnow() + timedelta(days=366)) == n
    assert audit.entries(store) == []


def test_retention_set_validates_then_writes_and_is_audited(store: Engine, db_url: str) -> None:
    run = CliRunner()
    res = run.invoke(cli, ["--db", db_url, "retention", "set", "--keep-sent", "7d", "--keep-failed", "5m"])
    assert res.exit_code == 2 and "Keep failed must be at least 1h." in res.stderr
    assert retention.get(store) == retention.Retention(timedelta(days=30), timedelta(days=90))  # nothing written
    res = run.invoke(cli, ["--db", db_url, "retention", "set", "--keep-sent", "tomorrow"])
    assert res.exit_code == 2 and "Keep sent must be an age" in res.stderr and "Traceback" not in res.output
    res = run.invoke(cli, ["--db", db_url, "retention", "set", "--keep-sent", "7d"])
    assert res.exit_code == 0 and "Keep sent:   7d" in res.stdout
    assert retention.get(store).keep_sent == timedelta(days=7)
    [entry] = audit.entries(store, since=timedelta(minutes=5))[:1]
    assert entry.action == "retention.set" and entry.detail == "keep sent: 30d → 7d" and entry.front_end == "cli"
    res = run.invoke(cli, ["--db", db_url, "retention", "--help"])
    assert res.exit_code == 0
    res = run.invoke(cli, ["--db", db_url, "retention", "show", "--json"])
    assert '"keep_sent_seconds": 604800.0' in res.stdout
