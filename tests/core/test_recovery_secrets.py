"""The recovery token is not readable from the store: a password-recovery
message is sealed at rest (its body masked, its bytes encrypted with the vault
key), opened only by the worker when it sends, and erased once sent, failed or
expired. A copy of the store file (and its WAL) resets no password."""

from __future__ import annotations

import email
import json
import re
import shutil
from email.policy import default as default_policy
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from ertui import mtas, queue, queue_json, recovery, settings, users
from ertui.cli import cli
from ertui.delivery.worker import Worker
from ertui.store import sealed
from tests.smtpd import SmtpServer

LINK = re.compile(rb"https://er\.example\.com/reset-password\?token=([A-Za-z0-9_-]+)")


@pytest.fixture
def ready(engine: Engine) -> Engine:
    settings.set_admin_email(engine, "admin@er.example.com")
    settings.set_master_host(engine, "er.example.com")
    users.add_user(engine, "dave", email="dave@example.com", password="old-password-1")
    return engine


def store_bytes(db_path: Path, into: Path) -> bytes:
    """A backup: the store file and its WAL copied while the store is open."""
    into.mkdir()
    blob = b""
    for p in sorted(db_path.parent.glob(db_path.name + "*")):
        shutil.copy(p, into / p.name)
        blob += (into / p.name).read_bytes()
    return blob


def real_token(engine: Engine, message_id: int) -> str:
    """What the worker sends (only it opens the seal)."""
    found = LINK.search(sealed.open_raw(queue.get_message(engine, message_id).raw))
    assert found is not None
    return found.group(1).decode()


def candidates(blob: bytes) -> set[str]:
    """Everything in the copy that could be a token: every URL-safe run, and
    every substring of 43 characters of them (a token is 43)."""
    runs = {m.group().decode() for m in re.finditer(rb"[A-Za-z0-9_-]{8,}", blob)}
    out = set(runs)
    for run in runs:
        out.update(run[i : i + 43] for i in range(max(1, len(run) - 42)))
    return out


def test_a_copy_of_the_store_resets_no_password(ready: Engine, db_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    db = ["--db", f"sqlite:///{db_path}"]
    res = runner.invoke(cli, [*db, "user", "recover", "dave"])
    assert res.exit_code == 0, res.output
    mid = queue.list_messages(ready, status="all")[0].id
    assert mid is not None
    token = real_token(ready, mid)
    blob = store_bytes(db_path, tmp_path / "backup")
    assert token.encode() not in blob
    assert token[:8].encode() not in blob  # not even a good part of it
    assert b"reset-password?token=" + token[:4].encode() + "…".encode() in blob  # masked, for the log
    tried = candidates(blob)
    assert len(tried) > 100  # the test looks at real data
    for guess in tried:
        with pytest.raises(recovery.InvalidTokenError):
            recovery.reset_password(ready, "dave", guess, "stolen-pass-1")
    # ... also through the command an attacker would use, with the masked link's token
    args = [*db, "user", "reset-password", "dave", "--token-stdin", "--password-stdin"]
    masked = runner.invoke(cli, args, input=token[:4] + "…\nx-pass-99\n")
    assert masked.exit_code == 2
    assert users.verify_password("old-password-1", users.get_user(ready, "dave").password_hash)


def test_every_output_shows_the_masked_body(ready: Engine, db_path: Path) -> None:
    req = recovery.request_recovery(ready, "dave")
    token = real_token(ready, req.message_id)
    msg = queue.get_message(ready, req.message_id)
    assert f"token={token[:4]}…" in msg.body and token not in msg.body  # the message view reads this
    assert sealed.is_sealed(msg.raw)
    db = ["--db", f"sqlite:///{db_path}"]
    for args in (
        ["queue", "show", str(req.message_id)],
        ["queue", "show", str(req.message_id), "--json"],
        ["queue", "list", "--status", "all"],
        ["queue", "list", "--status", "all", "--json"],
    ):
        out = CliRunner().invoke(cli, [*db, *args]).output
        assert token[:8] not in out, args
    listed = queue.list_messages(ready, status="all")[0]
    assert token not in listed.body
    assert token not in json.dumps(queue_json.message_to_dict(listed))


async def test_the_worker_sends_the_real_link_and_then_erases_it(
    ready: Engine, db_path: Path, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    mtas.add(ready, description="sink", host="127.0.0.1", port=smtp_server.port)
    req = recovery.request_recovery(ready, "dave")
    await Worker(ready).run(once=True)
    assert queue.get_message(ready, req.message_id).status == "sent"
    got = email.message_from_bytes(smtp_server.received[0].data, policy=default_policy)
    body = got.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = LINK.search(body.encode())
    assert found is not None
    token = found.group(1).decode()
    kept = queue.get_message(ready, req.message_id)
    assert not sealed.is_sealed(kept.raw)  # erased: the masked message alone is kept
    assert kept.raw.startswith(b"From: admin@er.example.com\r\n")
    assert b"Message-ID: " + got["Message-ID"].encode() in kept.raw
    assert token.encode() not in store_bytes(db_path, tmp_path / "after")
    recovery.reset_password(ready, "dave", token, "a-new-pass-1")  # the real link works
    assert users.verify_password("a-new-pass-1", users.get_user(ready, "dave").password_hash)


@pytest.mark.parametrize("how", ["refused", "expired"])
async def test_a_failed_or_expired_message_keeps_no_secret(
    ready: Engine, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    mtas.add(ready, description="sink", host="127.0.0.1", port=smtp_server.port)
    if how == "refused":
        smtp_server.behaviour.rcpt_reply = "550 5.1.1 no such user"
    else:
        monkeypatch.setenv(queue.ENV_LIFETIME, "0")
    req = recovery.request_recovery(ready, "dave")
    token = real_token(ready, req.message_id)
    await Worker(ready).run(once=True)
    kept = queue.get_message(ready, req.message_id)
    assert kept.status == "failed"
    assert not sealed.is_sealed(kept.raw) and token.encode() not in kept.raw
    shown = email.message_from_bytes(kept.raw, policy=default_policy).get_body(("plain",))
    assert f"token={token[:4]}…" in shown.get_content()  # type: ignore[union-attr]


def test_without_the_key_the_worker_sends_the_masked_link_not_garbage(
    ready: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    req = recovery.request_recovery(ready, "dave")
    stored = queue.get_message(ready, req.message_id).raw
    monkeypatch.setenv("ERTUI_SECRET_KEY", "x" * 43 + "=")  # a valid key, not the one it was sealed with
    assert sealed.open_raw(stored) == sealed.masked_raw(stored)


def test_mask_tokens() -> None:
    assert sealed.mask_tokens("a https://h/r?token=AbCdEfGh_-12 b") == "a https://h/r?token=AbCd… b"
    assert sealed.mask_tokens("no token here, token=ab") == "no token here, token=ab"


async def test_a_deferred_message_stays_sealed_until_it_is_sent(ready: Engine, smtp_server: SmtpServer) -> None:
    mtas.add(ready, description="sink", host="127.0.0.1", port=smtp_server.port)
    smtp_server.behaviour.rcpt_reply = "451 4.3.0 greylisted, try later"
    req = recovery.request_recovery(ready, "dave")
    token = real_token(ready, req.message_id)
    await Worker(ready).run(once=True)
    kept = queue.get_message(ready, req.message_id)
    assert kept.status == "deferred" and sealed.is_sealed(kept.raw)  # still needed
    smtp_server.behaviour.rcpt_reply = None
    queue.retry(ready, [req.message_id])
    await Worker(ready).run(once=True)
    kept = queue.get_message(ready, req.message_id)
    assert kept.status == "sent" and not sealed.is_sealed(kept.raw) and token.encode() not in kept.raw
    assert token.encode() in smtp_server.received[0].data  # the real link went out


async def test_sealed_and_erased_on_both_stores(any_engine: Engine, smtp_server: SmtpServer) -> None:
    settings.set_admin_email(any_engine, "admin@er.example.com")
    settings.set_master_host(any_engine, "er.example.com")
    users.add_user(any_engine, "dave", email="dave@example.com")
    mtas.add(any_engine, description="sink", host="127.0.0.1", port=smtp_server.port)
    req = recovery.request_recovery(any_engine, "dave")
    token = real_token(any_engine, req.message_id)
    stored = queue.get_message(any_engine, req.message_id)
    assert sealed.is_sealed(stored.raw) and token not in stored.body
    await Worker(any_engine).run(once=True)
    kept = queue.get_message(any_engine, req.message_id)
    assert kept.status == "sent" and not sealed.is_sealed(kept.raw) and token.encode() not in kept.raw
    assert token.encode() in smtp_server.received[0].data
