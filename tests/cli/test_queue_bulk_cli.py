"""`queue retry|hold|release|delete` by filter: counts, --dry-run, --json,
delete's confirmation, and ids with a filter (or neither) as bad input."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner, Result
from sqlalchemy import update
from sqlalchemy.engine import Engine

from ertui import queue
from ertui.cli import cli
from ertui.store.models import Message
from ertui.timeutil import utcnow


def run(db_url: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, "queue", *args], input=stdin)


def set_status(engine: Engine, mid: int, status: str) -> None:
    values: dict[str, object] = {"status": status}
    if status == "sending":
        values.update(lease_owner="w", lease_until=utcnow() + timedelta(minutes=5))
    with engine.begin() as conn:
        conn.execute(update(Message).where(Message.id == mid).values(**values))  # type: ignore[arg-type]


def test_hold_release_retry_delete_by_filter(ready: Engine, db_url: str) -> None:
    ids = queue.enqueue(ready, ["a@slow.example", "b@slow.example", "c@slow.example", "d@ok.example"], "Hi", "x")
    set_status(ready, ids[2], "sending")
    dry = run(db_url, "hold", "--domain", "slow.example", "--dry-run")
    assert dry.exit_code == 0 and dry.output.startswith("2 message(s) would be held.")
    assert "1 matching message(s) left alone" in dry.output
    assert queue.count_messages(ready, status="held") == 0
    held = run(db_url, "hold", "--domain", "slow.example", "--json")
    assert json.loads(held.output) == {"action": "hold", "matched": 3, "changed": 2, "skipped": 1, "dry_run": False}
    assert run(db_url, "release", "--status", "held").output.startswith("2 message(s) released.")
    assert run(db_url, "retry", "--domain", "ok.example", "--search", "hi").output.startswith("1 message(s) retried.")
    refused = run(db_url, "delete", "--domain", "slow.example")  # no terminal, no --yes
    assert refused.exit_code == 2 and queue.count_messages(ready, status="all") == 4
    deleted = run(db_url, "delete", "--domain", "slow.example", "--yes")
    assert deleted.exit_code == 0 and deleted.output.startswith("2 message(s) deleted.")
    assert queue.get_message(ready, ids[2]).status == "sending"  # the one being sent is never touched


def test_ids_and_a_filter_or_neither_are_bad_input(ready: Engine, db_url: str) -> None:
    [mid] = queue.enqueue(ready, ["a@x.example"], "Hi", "x")
    for args in (
        ["hold", str(mid), "--domain", "x.example"],
        ["hold"],
        ["release", "--dry-run", str(mid)],
        ["retry", "--all-failed", "--status", "failed"],
        ["delete", "--older-than", "later", "--yes"],
    ):
        out = run(db_url, *args)
        assert out.exit_code == 2, (args, out.output)
        assert out.output.startswith("ertui: ") and out.output.count("\n") == 1
    assert queue.get_message(ready, mid).status == "queued"
