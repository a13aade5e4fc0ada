"""Queue shape: qshape's buckets at their edges, by domain and by MTA, the
status filter, --top, and the CLI's text and JSON."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from sqlalchemy.engine import Engine

from ertui import mtas, queue, queue_shape, settings
from ertui.cli import cli
from ertui.errors import ValidationError
from ertui.store.models import Message
from ertui.timeutil import utcnow


@pytest.fixture
def store(engine: Engine) -> Engine:
    settings.set_admin_email(engine, "admin@example.com")
    return engine


def enqueue_aged(engine: Engine, recipient: str, age: timedelta, now: datetime, **fields: object) -> int:
    [mid] = queue.enqueue(engine, [recipient], "Report", "Body")
    with engine.begin() as conn:
        conn.execute(update(Message).where(Message.id == mid).values(created_at=now - age, **fields))  # type: ignore[arg-type]
    return mid


def test_bucket_edges_follow_qshape(store: Engine) -> None:
    now = utcnow().replace(microsecond=0)
    ages = {
        "a@edge.example": timedelta(minutes=4, seconds=59),  # 0-5m
        "b@edge.example": timedelta(minutes=5),  # exactly 5: 5-10m
        "c@edge.example": timedelta(minutes=10),  # 10-20m
        "d@edge.example": timedelta(minutes=1279, seconds=59),  # 640-1280m
        "e@edge.example": timedelta(minutes=1280),  # 1280m+
        "f@edge.example": timedelta(days=30),  # 1280m+
    }
    for rcpt, age in ages.items():
        enqueue_aged(store, rcpt, age, now)
    result = queue_shape.shape(store, now=now)
    [row] = result.rows
    assert row.key == "edge.example" and row.total == 6
    counts = dict(zip(queue_shape.BUCKETS, row.counts, strict=True))
    assert counts == {
        "0-5m": 1,
        "5-10m": 1,
        "10-20m": 1,
        "20-40m": 0,
        "40-80m": 0,
        "80-160m": 0,
        "160-320m": 0,
        "320-640m": 0,
        "640-1280m": 1,
        "1280m+": 2,
    }
    assert result.total.counts == row.counts


def test_domains_are_case_insensitive_largest_first_and_top_keeps_the_total(store: Engine) -> None:
    now = utcnow()
    for rcpt in (
        "x@Big.example",
        "y@big.EXAMPLE",
        "z@big.example",
        "q@small.example",
        "r@mid.example",
        "s@mid.example",
    ):
        enqueue_aged(store, rcpt, timedelta(minutes=1), now)
    result = queue_shape.shape(store, now=now)
    assert [(r.key, r.total) for r in result.rows] == [("big.example", 3), ("mid.example", 2), ("small.example", 1)]
    top = queue_shape.shape(store, top=1, now=now)
    assert [r.key for r in top.rows] == ["big.example"] and top.total.total == 6


def test_by_mta_and_status_filters(store: Engine) -> None:
    now = utcnow()
    relay = mtas.add(store, description="Relay A", host="relay-a.example.com")
    enqueue_aged(store, "a@d.example", timedelta(minutes=30), now, status="deferred", last_mta_id=relay.id)
    enqueue_aged(store, "b@d.example", timedelta(minutes=30), now, status="failed", last_mta_id=relay.id)
    enqueue_aged(store, "c@d.example", timedelta(minutes=30), now)
    enqueue_aged(store, "d@d.example", timedelta(minutes=30), now, status="sent")
    by_mta = queue_shape.shape(store, by="mta", now=now)
    assert {r.key: r.total for r in by_mta.rows} == {"Relay A": 2, queue_shape.NO_MTA: 1}
    assert queue_shape.shape(store, status="deferred", now=now).total.total == 1
    assert queue_shape.shape(store, status="failed", now=now).total.total == 1
    assert queue_shape.shape(store, status="all", now=now).total.total == 4  # sent too
    assert queue_shape.shape(store, status="unsent", now=now).total.total == 3


def test_bad_choices_name_the_option(store: Engine) -> None:
    with pytest.raises(ValidationError, match="--by"):
        queue_shape.shape(store, by="recipient")
    with pytest.raises(ValidationError, match="--status"):
        queue_shape.shape(store, status="sending")


def test_cli_text_and_json(store: Engine, db_url: str) -> None:
    now = utcnow()
    enqueue_aged(store, "a@one.example", timedelta(minutes=7), now)
    enqueue_aged(store, "b@two.example", timedelta(minutes=1), now)
    runner = CliRunner()
    out = runner.invoke(cli, ["--db", db_url, "queue", "shape", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["by"] == "domain" and data["status"] == "unsent"
    assert data["buckets"] == list(queue_shape.BUCKETS)
    assert {r["key"]: r["counts"][:2] for r in data["rows"]} == {"one.example": [0, 1], "two.example": [1, 0]}
    assert all(r["key"] != "TOTAL" for r in data["rows"])
    text = runner.invoke(cli, ["--db", db_url, "queue", "shape"])
    lines = text.output.splitlines()
    assert lines[0].split()[:3] == ["domain", "total", "0-5m"]
    assert lines[1].split()[:4] == ["TOTAL", "2", "1", "1"]
