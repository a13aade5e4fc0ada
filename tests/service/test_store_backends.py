"""The service's store statements on both backends: the snapshot's one
aggregation, the batch purge, the audit log (PostgreSQL when ERTUI_TEST_PG_URL names one)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from ertui import audit, mtas, queue, settings
from ertui.service import retention, snapshot
from ertui.store.engine import make_engine
from ertui.store.models import Message
from ertui.timeutil import utcnow

T = Message.__table__  # type: ignore[attr-defined]


def test_snapshot_purge_and_audit(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        settings.set_admin_email(engine, "admin@example.com")
        m = mtas.add(engine, description="A", host="127.0.0.1", port=2525)
        mtas.add(engine, description="B", host="127.0.0.1", port=2526, enabled=False)
        ids = queue.enqueue_batch(engine, [(f"u{i}@example.com", "s", "b") for i in range(2505)])
        old = utcnow() - timedelta(days=40)
        with engine.begin() as conn:
            conn.execute(update(T).where(T.c.id.in_(ids[:2500])).values(status="sent", sent_at=old))
            conn.execute(update(T).where(T.c.id == ids[2500]).values(status="failed", last_attempt_at=utcnow()))
            conn.execute(update(T).where(T.c.id == ids[2501]).values(created_at=utcnow() - timedelta(hours=2)))
        mtas.record_failure(engine, m.id or 0, "refused", cooldown=lambda n: 600)
        snap = snapshot.take(engine)
        assert snap.counts["sent"] == 2500 and snap.counts["failed"] == 1 and snap.counts["queued"] == 4
        assert snap.failed_24h == 1 and snap.unsent == 4
        assert 7100 <= snap.oldest_unsent_seconds <= 7300 + 60
        assert [(h.description, h.enabled, h.up) for h in snap.mtas] == [("A", True, False), ("B", False, False)]
        assert snap.status_line() == "4 queued, 0/1 MTAs up"
        guards = retention.guards(engine)
        assert [retention.purge_batch(engine, guards[0]) for _ in range(4)] == [1000, 1000, 500, 0]
        assert retention.purge_batch(engine, guards[1]) == 0  # failed today: kept
        assert snapshot.take(engine).counts["sent"] == 0
        actions = [e.action for e in audit.entries(engine, since=timedelta(hours=1))]
        assert actions == ["mta.add", "mta.add", "admin.set"]
    finally:
        engine.dispose()
