"""The delivery policy as a script may leave it in the store: values that
``policy set`` refuses (outside a knob's range). A first retry delay of 1e12 s
(past the year 9999) made every deferral raise in the worker: the messages
went round the MTAs with no attempt recorded, due again at once — hammering
a greylisting server. Such a value counts as never set: the default holds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from ertui import delivery_policy, queue
from ertui.delivery.worker import WorkerSettings
from ertui.store.models import Message, Setting
from ertui.timeutil import utcnow
from tests.delivery.conftest import add_mta, run_worker
from tests.smtpd import SmtpServer

M = Message.__table__  # type: ignore[attr-defined]
OUT_OF_RANGE = {
    "policy_first_retry_seconds": "1e12",
    "policy_max_retry_seconds": "1e12",
    "policy_mta_cooldown_seconds": "1e12",
    "policy_max_attempts": "2.5",
    "policy_lifetime_seconds": "1",
}


def test_out_of_range_values_in_the_store_count_as_never_set(store: Engine) -> None:
    with store.begin() as conn:
        conn.execute(insert(Setting.__table__), [{"key": k, "value": v} for k, v in OUT_OF_RANGE.items()])  # type: ignore[attr-defined]
    assert delivery_policy.stored(store) == delivery_policy.Policy()
    assert delivery_policy.stored_values(store) == {}


def test_a_worker_defers_with_the_default_when_the_stored_value_is_out_of_range(store: Engine) -> None:
    with store.begin() as conn:
        conn.execute(insert(Setting.__table__), [{"key": k, "value": v} for k, v in OUT_OF_RANGE.items()])  # type: ignore[attr-defined]
    before = utcnow()
    with SmtpServer("plain") as srv:
        srv.behaviour.rcpt_reply = "451 4.7.1 greylisted, try later"
        add_mta(store, "greylisting", srv.port)
        queue.enqueue_batch(store, [(f"u{i}@example.com", "s", "b") for i in range(3)])
        settings = WorkerSettings(
            from_store=True, lease_seconds=5, idle_close_seconds=0.3, poll_interval=0.1, flush_interval=0.05
        )
        run_worker(store, settings)
    first_retry = timedelta(seconds=delivery_policy.FIRST_RETRY.default)
    with store.connect() as conn:
        rows = conn.execute(select(M.c.status, M.c.attempts, M.c.next_attempt_at, M.c.last_error)).all()
    assert len(rows) == 3
    for status, attempts, next_at, error in rows:
        assert (status, attempts) == ("deferred", 1)
        assert next_at >= before + first_retry - timedelta(seconds=5), next_at
        assert error is not None and "451" in error
