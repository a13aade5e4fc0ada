"""Bulk actions by filter: each filter and combinations, every action,
--dry-run changing nothing, and a message a worker holds (sending) left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from ertui import mtas, queue, queue_bulk, settings
from ertui.errors import ValidationError
from ertui.store.models import Message
from ertui.timeutil import utcnow


@pytest.fixture
def store(engine: Engine) -> Engine:
    settings.set_admin_email(engine, "admin@example.com")
    return engine


def put(engine: Engine, recipient: str, status: str, *, age_min: int = 0, mta_id: int | None = None,
        subject: str = "Report") -> int:  # fmt: skip
    [mid] = queue.enqueue(engine, [recipient], subject, "Body")
    values: dict[str, object] = {"status": status, "created_at": utcnow() - timedelta(minutes=age_min)}
    if mta_id is not None:
        values["last_mta_id"] = mta_id
    if status == "sending":
        values.update(lease_owner="another-worker", lease_until=utcnow() + timedelta(minutes=5))
    with engine.begin() as conn:
        conn.execute(update(Message).where(Message.id == mid).values(**values))  # type: ignore[arg-type]
    return mid


def statuses(engine: Engine, ids: list[int]) -> list[str]:
    return [queue.get_message(engine, i).status for i in ids]


def test_hold_by_domain_leaves_other_domains_and_a_message_in_flight(store: Engine) -> None:
    a = put(store, "a@stuck.example", "deferred")
    b = put(store, "b@STUCK.example", "queued")
    flying = put(store, "c@stuck.example", "sending")
    other = put(store, "d@fine.example", "deferred")
    flt = queue_bulk.make_filter(domain="Stuck.Example")
    dry = queue_bulk.apply(store, "hold", flt, dry_run=True)
    assert (dry.matched, dry.changed, dry.skipped) == (3, 2, 1)
    assert statuses(store, [a, b, flying, other]) == ["deferred", "queued", "sending", "deferred"]  # nothing changed
    assert "2 message(s) would be held." in dry.sentence()
    done = queue_bulk.apply(store, "hold", flt)
    assert (done.changed, done.skipped) == (2, 1)
    assert statuses(store, [a, b, flying, other]) == ["held", "held", "sending", "deferred"]
    released = queue_bulk.apply(store, "release", queue_bulk.make_filter(status="held"))
    assert released.changed == 2 and statuses(store, [a, b]) == ["deferred", "queued"]


def test_filters_combine_with_and(store: Engine) -> None:
    relay = mtas.add(store, description="Relay A", host="relay-a.example.com")
    old_a = put(store, "x@d.example", "deferred", age_min=120, mta_id=relay.id)
    new_a = put(store, "y@d.example", "deferred", age_min=5, mta_id=relay.id)
    old_none = put(store, "z@d.example", "deferred", age_min=120)
    old_failed = put(store, "w@d.example", "failed", age_min=120, mta_id=relay.id, subject="Invoice 7")
    flt = queue_bulk.make_filter(mta="relay a", older_than="1h", status="deferred")
    assert queue_bulk.count(store, flt) == 1
    assert queue_bulk.apply(store, "retry", flt).changed == 1
    assert queue_bulk.count(store, queue_bulk.make_filter(mta=str(relay.id))) == 3
    assert queue_bulk.count(store, queue_bulk.make_filter(older_than="90m")) == 3
    assert queue_bulk.count(store, queue_bulk.make_filter(search="invoice")) == 1
    retried = queue_bulk.apply(store, "retry", queue_bulk.make_filter(status="failed"))
    assert retried.changed == 1 and queue.get_message(store, old_failed).status == "queued"
    assert queue.get_message(store, old_a).next_attempt_at <= utcnow()  # the one retried is due now
    assert statuses(store, [new_a, old_none]) == ["deferred", "deferred"]


def test_delete_by_filter_spares_the_message_in_flight(store: Engine) -> None:
    gone = [put(store, f"u{i}@spam.example", "failed") for i in range(3)]
    flying = put(store, "v@spam.example", "sending")
    result = queue_bulk.apply(store, "delete", queue_bulk.make_filter(domain="spam.example"))
    assert (result.changed, result.skipped) == (3, 1)
    assert queue.count_messages(store, status="all") == 1
    assert queue.get_message(store, flying).status == "sending"
    assert queue.count_messages(store, status="failed") == 0 and len(gone) == 3


def test_many_messages_go_in_batches(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue_bulk, "BATCH", 7)
    ids = queue.enqueue(store, [f"n{i}@bulk.example" for i in range(30)], "Report", "Body")
    result = queue_bulk.apply(store, "hold", queue_bulk.make_filter(domain="bulk.example"))
    assert result.changed == 30 and set(statuses(store, ids)) == {"held"}


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"status": "sending"}, "--status"),
        ({"older_than": "soon"}, "--older-than"),
        ({"domain": " "}, "--domain"),
        ({"mta": "x" * 300}, "--mta"),
        ({"search": "a\x1bb"}, "--search"),
    ],
)
def test_bad_filters_name_the_option(kwargs: dict[str, str], option: str) -> None:
    with pytest.raises(ValidationError, match=option):
        queue_bulk.make_filter(**kwargs)


def test_no_filter_is_refused(store: Engine) -> None:
    with pytest.raises(ValidationError, match="ids or a filter"):
        queue_bulk.apply(store, "delete", queue_bulk.QueueFilter())


def test_search_is_the_queue_lists_rule_and_page_lists_what_apply_acts_on(store: Engine) -> None:
    first = put(store, "a@d.example", "queued", subject="Invoice")
    second = put(store, "b@d.example", "queued")
    third = put(store, "c@e.example", "deferred", subject="Invoice")
    by_id = queue_bulk.make_filter(search=f"#{second}")  # "#id": that message only, as the list's search
    assert queue_bulk.count(store, by_id) == 1
    assert [m.id for m in queue_bulk.page(store, by_id, limit=10)] == [second]
    text = queue_bulk.make_filter(search="INVOICE", status="unsent")
    listed = [m.id for m in queue_bulk.page(store, text, limit=10)]
    assert listed == [m.id for m in queue.list_messages(store, status="unsent", search="INVOICE")] == [third, first]
    assert [m.id for m in queue_bulk.page(store, text, limit=10, max_id=third - 1)] == [first]  # a page anchored
    assert queue_bulk.count(store, text, max_id=first) == 1
    held = queue_bulk.apply(store, "hold", text)
    assert held.changed == 2 and statuses(store, [first, second, third]) == ["held", "queued", "held"]
