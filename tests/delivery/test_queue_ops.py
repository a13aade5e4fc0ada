"""Listing, stats and the operator's actions on the queue (no worker)."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from sqlalchemy.engine import Engine

from ertui import mtas, queue
from ertui.cli import cli
from ertui.errors import NotFoundError, ValidationError
from ertui.store.models import Message
from ertui.timeutil import iso, utcnow
from tests.delivery.conftest import ERTUI

T = Message.__table__  # type: ignore[attr-defined]


def set_status(engine: Engine, ids: list[int], status: str, **values: object) -> None:
    with engine.begin() as conn:
        conn.execute(update(T).where(T.c.id.in_(ids)).values(status=status, **values))


def test_list_filters_pages_and_searches(store: Engine) -> None:
    ids = queue.enqueue(store, [f"u{i}@example.com" for i in range(5)], "Report [URGENT]", "b")
    set_status(store, ids[:2], "sent", sent_at=utcnow())
    set_status(store, [ids[2]], "failed")
    unsent = queue.list_messages(store)
    assert [m.id for m in unsent] == [ids[4], ids[3], ids[2]]  # newest first, sent left out
    assert queue.count_messages(store) == 3
    assert [m.id for m in queue.list_messages(store, status="sent")] == [ids[1], ids[0]]
    assert queue.count_messages(store, status="all") == 5
    assert [m.id for m in queue.list_messages(store, status="all", limit=2, offset=1)] == [ids[3], ids[2]]
    assert [m.id for m in queue.list_messages(store, status="all", search="u3@")] == [ids[3]]
    assert queue.count_messages(store, status="all", search="[urgent]") == 5
    assert queue.count_messages(store, status="all", search="50%") == 0
    with pytest.raises(ValidationError):
        queue.list_messages(store, status="bogus")


def test_get_unknown_message(store: Engine) -> None:
    with pytest.raises(NotFoundError):
        queue.get_message(store, 999)


def test_hold_release_restores_state(store: Engine) -> None:
    a, b, c = queue.enqueue(store, ["a@example.com", "b@example.com", "c@example.com"], "s", "b")
    set_status(store, [b], "deferred")
    set_status(store, [c], "sending")
    assert queue.hold(store, [a, b, c]) == 2  # a message being sent is left alone
    assert [queue.get_message(store, i).status for i in (a, b, c)] == ["held", "held", "sending"]
    assert queue.release(store, [a, b]) == 2
    assert [queue.get_message(store, i).status for i in (a, b)] == ["queued", "deferred"]


def test_retry_makes_failed_due_with_a_new_lifetime_and_keeps_its_attempts(store: Engine) -> None:
    a, b = queue.enqueue(store, ["a@example.com", "b@example.com"], "s", "b")
    later = utcnow() + timedelta(hours=1)
    set_status(store, [a], "failed", attempts=5, expires_at=utcnow() - timedelta(seconds=1))
    set_status(store, [b], "deferred", attempts=2, next_attempt_at=later)
    assert queue.retry(store, [a, b]) == 2
    ma, mb = queue.get_message(store, a), queue.get_message(store, b)
    assert (ma.status, ma.attempts) == ("queued", 5)  # history is not rewritten
    assert ma.expires_at > utcnow() + timedelta(days=4) and ma.next_attempt_at <= utcnow()
    assert mb.status == "deferred" and mb.next_attempt_at <= utcnow()
    set_status(store, [a, b], "failed")
    assert queue.retry_all_failed(store) == 2


def test_delete_and_purge(store: Engine) -> None:
    a, b, c = queue.enqueue(store, ["a@example.com", "b@example.com", "c@example.com"], "s", "b")
    set_status(store, [b], "sent", sent_at=utcnow() - timedelta(days=10))
    set_status(store, [c], "sent", sent_at=utcnow())
    assert queue.delete(store, [a]) == 1
    assert queue.purge_sent(store, 7) == 1
    assert [m.id for m in queue.list_messages(store, status="all")] == [c]


def test_stats_counts_and_why_nothing_moves(store: Engine) -> None:
    queue.enqueue(store, ["a@example.com", "b@example.com"], "s", "b")
    st = queue.stats(store)
    assert st.counts["queued"] == 2 and st.counts["sent"] == 0
    assert st.oldest_unsent_age is not None
    assert st.stalled_reason is not None and "no MTA is enabled" in st.stalled_reason
    mtas.add(store, description="relay", host="127.0.0.1", port=2525)
    reason = queue.stats(store).stalled_reason
    assert reason is not None and "no worker is running" in reason


def test_cli_send_list_show_stats(store: Engine, db_url: str) -> None:
    runner = CliRunner()
    res = runner.invoke(
        cli,
        ["--db", db_url, "send", "--to", "a@example.com", "--to", "b@example.com", "--subject", "Hi"],
        input="Body from stdin\n",
    )
    assert res.exit_code == 0, res.output
    ids = [int(x) for x in res.output.split()]
    assert len(ids) == 2
    res = runner.invoke(cli, ["--db", db_url, "queue", "list", "--json"])
    rows = json.loads(res.output)
    assert {r["recipient"] for r in rows} == {"a@example.com", "b@example.com"}
    for key in (
        "id",
        "recipient",
        "subject",
        "status",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "last_error",
        "mta",
    ):
        assert key in rows[0]
    assert rows[0]["next_attempt_at"].endswith("+00:00")
    res = runner.invoke(cli, ["--db", db_url, "queue", "show", str(ids[0])])
    assert "Body" not in res.output and "a@example.com" in res.output and "Attempt log:      none yet" in res.output
    res = runner.invoke(cli, ["--db", db_url, "queue", "stats", "--json"])
    data = json.loads(res.output)
    assert data["counts"]["queued"] == 2 and "no MTA is enabled" in data["stalled_reason"]
    res = runner.invoke(cli, ["--db", db_url, "queue", "hold", str(ids[0])])
    assert res.exit_code == 0 and "1 message(s) held" in res.output
    # held again, plus an id that does not exist: says why nothing changed, names the missing id, exit 1
    res = runner.invoke(cli, ["--db", db_url, "queue", "hold", str(ids[0]), "999"])
    assert res.exit_code == 1 and "0 of 1 message(s) held: only unsent messages" in res.output
    assert "no message with the id 999" in res.stderr
    res = runner.invoke(cli, ["--db", db_url, "queue", "release", str(ids[1])])
    assert "0 of 1 message(s) released: only held messages can be released" in res.output
    res = runner.invoke(cli, ["--db", db_url, "queue", "delete", str(ids[1])], input="")
    assert res.exit_code == 2  # no terminal, no --yes: refuses
    res = runner.invoke(cli, ["--db", db_url, "queue", "delete", "--yes", str(ids[1])])
    assert res.exit_code == 0 and queue.count_messages(store, status="all") == 1


def test_cli_send_bad_address_exit_2(store: Engine, db_url: str) -> None:
    res = CliRunner().invoke(cli, ["--db", db_url, "send", "--to", "nope", "--subject", "s", "--body", "b"])
    assert res.exit_code == 2
    assert "To" in res.output and "Traceback" not in res.output


def _ertui(db_url: str, *args: str | bytes, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([ERTUI, "--db", db_url, *args], input=stdin, capture_output=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "stdin", "field"),
    [
        ([b"--subject", b"s"], b"caf\xe9 au lait\n", b"Body"),  # latin-1 on stdin
        ([b"--subject", b"caf\xe9", b"--body", b"b"], b"", b"--subject"),  # latin-1 in argv
    ],
)
def test_cli_send_text_that_is_not_utf8_exit_2_no_traceback(
    store: Engine, db_url: str, args: list[bytes], stdin: bytes, field: bytes
) -> None:
    res = _ertui(db_url, "send", "--to", "a@example.com", *args, stdin=stdin)
    assert res.returncode == 2, res.stderr
    assert b"Traceback" not in res.stderr and field in res.stderr and b"UTF-8" in res.stderr
    assert queue.count_messages(store, status="all") == 0


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["queue", "show", HUGE], 2),
        (["queue", "retry", HUGE], 2),
        (["queue", "delete", "--yes", HUGE], 2),
        (["queue", "list", "--offset", HUGE], 2),
        (["queue", "list", "--search", HUGE], 0),
        (["queue", "purge", "--sent-older-than", "nan"], 2),
        (["queue", "purge", "--sent-older-than", "inf"], 2),
        (["queue", "purge", "--sent-older-than", "1e308"], 2),
        (["mta", "edit", HUGE, "--host", "x.example.com"], 1),
        (["mta", "edit", "²", "--host", "x.example.com"], 1),  # a Unicode digit
        (["queue", "list", "--search", "²"], 0),
        pytest.param(["queue", "list", "--search", "9" * 5000], 2, id="search-5000-digits"),
    ],
)
def test_cli_huge_numbers_are_a_sentence_not_a_traceback(
    store: Engine, db_url: str, args: list[str], code: int
) -> None:
    res = CliRunner().invoke(cli, ["--db", db_url, *args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert res.exit_code == code, res.output


def test_core_lookups_of_ids_beyond_the_store_find_nothing(store: Engine) -> None:
    [mid] = queue.enqueue(store, "a@example.com", "s", "b")
    huge = 10**20
    with pytest.raises(NotFoundError):
        queue.get_message(store, huge)
    assert queue.attempts_for(store, huge) == []
    assert queue.retry(store, [mid, huge]) == 1
    assert queue.hold(store, [huge]) == 0 and queue.delete(store, [huge]) == 0
    assert queue.list_messages(store, search=str(huge)) == []
    with pytest.raises(NotFoundError):
        mtas.get(store, str(huge))


def test_retry_keeps_history_and_show_says_the_new_expiry(store: Engine, db_url: str) -> None:
    """Attempts always equals the attempts in the log; a retried failed message
    is due now with a new lifetime, and `queue show` says when it now expires."""
    from ertui.store.models import Attempt

    (mid,) = queue.enqueue(store, "a@example.com", "s", "b")
    old_expiry = utcnow() - timedelta(minutes=1)
    set_status(store, [mid], "failed", attempts=2, expires_at=old_expiry, last_error="550 no")
    with store.begin() as conn:
        for _ in range(2):
            conn.execute(
                Attempt.__table__.insert().values(  # type: ignore[attr-defined]
                    message_id=mid, started_at=utcnow(), duration_ms=3, outcome="failed", text="550 no"
                )
            )
    runner = CliRunner()
    res = runner.invoke(cli, ["--db", db_url, "queue", "retry", str(mid)])
    assert res.exit_code == 0 and "1 message(s) due now" in res.output
    data = json.loads(runner.invoke(cli, ["--db", db_url, "queue", "show", str(mid), "--json"]).output)
    assert data["status"] == "queued"
    assert data["attempts"] == len(data["attempt_log"]) == 2
    new_expiry = queue.get_message(store, mid).expires_at
    assert new_expiry > utcnow() + timedelta(days=4)
    assert data["expires_at"] == iso(new_expiry)
    text = runner.invoke(cli, ["--db", db_url, "queue", "show", str(mid)]).output
    assert f"Expires at:       {data['expires_at']}" in text and "Attempts:         2" in text
    assert queue.get_message(store, mid).next_attempt_at <= utcnow()
