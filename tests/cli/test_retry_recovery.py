"""A failed password-recovery email is not sent again by `queue retry`: its link
was erased when it failed (store.sealed), so a resend would carry a masked link
that works for no one. Every form of retry (ids, --all-failed, a filter, its
--dry-run count) leaves it alone and says why; other failed mail is retried."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine

from ertui import mtas, queue, recovery, users
from ertui.cli import cli
from ertui.delivery.worker import Worker
from tests.smtpd import SmtpServer


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, "queue", *args])


async def two_failed(engine: Engine, smtp_server: SmtpServer) -> tuple[int, int]:
    """A failed recovery email and a failed notification (both refused)."""
    users.add_user(engine, "dave", email="dave@example.com", password="old-password-1")
    mtas.add(engine, description="sink", host="127.0.0.1", port=smtp_server.port)
    smtp_server.behaviour.rcpt_reply = "550 5.1.1 no such user"
    rec = recovery.request_recovery(engine, "dave").message_id
    [note] = queue.enqueue(engine, ["carol@example.com"], "Report", "body")
    await Worker(engine).run(once=True)
    assert queue.get_message(engine, rec).status == queue.get_message(engine, note).status == "failed"
    return rec, note


async def test_retry_by_id_leaves_a_failed_recovery_email_and_says_why(
    ready: Engine, db_url: str, smtp_server: SmtpServer
) -> None:
    rec, note = await two_failed(ready, smtp_server)
    out = run(db_url, "retry", str(rec), str(note))
    assert out.exit_code == 0, out.output
    assert out.output.startswith("1 of 2 message(s) due now: the others are")
    assert "password-recovery" in out.output and "ertui user recover" in out.output
    assert queue.get_message(ready, rec).status == "failed"
    assert queue.get_message(ready, note).status == "queued"


async def test_retry_all_failed_and_by_filter_leave_it_too(ready: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    rec, note = await two_failed(ready, smtp_server)
    dry = run(db_url, "retry", "--status", "failed", "--dry-run", "--json")
    assert json.loads(dry.output) == {"action": "retry", "matched": 2, "changed": 1, "skipped": 1, "dry_run": True}
    text = run(db_url, "retry", "--status", "failed", "--dry-run")
    assert text.output.startswith("1 message(s) would be retried. 1 matching message(s) left alone:")
    assert "password-recovery" in text.output
    assert queue.get_message(ready, note).status == "failed"  # a dry run changes nothing
    assert run(db_url, "retry", "--all-failed").output == "1 message(s) due now.\n"
    assert queue.get_message(ready, rec).status == "failed"
    assert queue.get_message(ready, note).status == "queued"
