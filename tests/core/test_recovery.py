"""Password recovery, users and the Mailer API."""

from __future__ import annotations

import email
import json
from datetime import timedelta
from email.policy import default as default_policy
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ertui import Mailer, queue, recovery, settings, users
from ertui.cli import cli
from ertui.errors import NotFoundError, ValidationError
from ertui.store import sealed
from ertui.store.models import MessageKind
from ertui.timeutil import utcnow


@pytest.fixture
def ready(engine: Engine) -> Engine:
    settings.set_admin_email(engine, "admin@er.example.com")
    settings.set_master_host(engine, "er.example.com")
    users.add_user(engine, "alice", email="alice@example.com", password="old-password-1")
    return engine


def _link_token(engine: Engine, message_id: int) -> tuple[str, str]:
    """The link as the worker sends it: the stored bytes are sealed (only the
    worker's key opens them)."""
    raw = sealed.open_raw(queue.get_message(engine, message_id).raw)
    msg = email.message_from_bytes(raw, policy=default_policy)
    body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    line = next(x for x in body.splitlines() if "reset-password?token=" in x)
    return line.strip(), line.split("token=", 1)[1].strip()


def test_link_uses_the_stored_host_and_follows_changes(ready: Engine) -> None:
    req = recovery.request_recovery(ready, "alice")
    link, token = _link_token(ready, req.message_id)
    assert link == recovery.reset_link("er.example.com", token)
    assert link.startswith("https://er.example.com/reset-password?token=")
    msg = queue.get_message(ready, req.message_id)
    assert (msg.kind, msg.recipient, msg.sender) == (
        MessageKind.PASSWORD_RECOVERY.value,
        "alice@example.com",
        "admin@er.example.com",
    )
    settings.set_master_host(ready, "master.corp.example.net")
    req2 = recovery.request_recovery(ready, "alice")
    link2, _ = _link_token(ready, req2.message_id)
    assert link2.startswith("https://master.corp.example.net/reset-password?token=")


def test_no_link_with_a_host_name_that_is_not_an_fqdn(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never set, the name is this host's; where that is no FQDN ('localhost'), a
    link would fail exactly as the web console's did: refuse, say how to fix it."""
    settings.set_admin_email(engine, "admin@er.example.com")
    users.add_user(engine, "alice", email="alice@example.com")
    monkeypatch.setattr(settings, "default_host_name", lambda: "localhost")
    with pytest.raises(recovery.RecoveryError, match="ertui host set"):
        recovery.request_recovery(engine, "alice")
    assert queue.count_messages(engine, status="all") == 0
    monkeypatch.setattr(settings, "default_host_name", lambda: "box.corp.example.com")
    req = recovery.request_recovery(engine, "alice")
    assert _link_token(engine, req.message_id)[0].startswith("https://box.corp.example.com/")


def test_token_is_256_bits_and_stored_only_hashed(ready: Engine, db_path: Path) -> None:
    req = recovery.request_recovery(ready, "alice")
    _, token = _link_token(ready, req.message_id)
    assert len(token) >= 43  # 32 bytes, url-safe base64
    with ready.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM recovery_token")).scalars().all()
    assert stored == [recovery.hash_token(token)]
    ready.dispose()
    blob = b"".join(p.read_bytes() for p in db_path.parent.glob("ertui.db*") if p.is_file())
    # Neither the token table nor the queued email (sealed, its body masked) holds it:
    assert token.encode() not in blob


def test_token_resets_once_only(ready: Engine) -> None:
    req = recovery.request_recovery(ready, "alice")
    _, token = _link_token(ready, req.message_id)
    recovery.reset_password(ready, "alice", token, "brand-new-pass")
    assert users.verify_password("brand-new-pass", users.get_user(ready, "alice").password_hash)
    with pytest.raises(recovery.InvalidTokenError, match=recovery.INVALID_TOKEN):
        recovery.reset_password(ready, "alice", token, "another-pass-2")
    assert users.verify_password("brand-new-pass", users.get_user(ready, "alice").password_hash)


def test_token_expires_after_60_minutes(ready: Engine) -> None:
    t0 = utcnow()
    req = recovery.request_recovery(ready, "alice", now=t0)
    _, token = _link_token(ready, req.message_id)
    with pytest.raises(recovery.InvalidTokenError):
        recovery.reset_password(ready, "alice", token, "brand-new-pass", now=t0 + timedelta(minutes=60, seconds=1))
    recovery.reset_password(ready, "alice", token, "brand-new-pass", now=t0 + timedelta(minutes=59))


def test_newer_token_replaces_older(ready: Engine) -> None:
    first = recovery.request_recovery(ready, "alice")
    _, old = _link_token(ready, first.message_id)
    second = recovery.request_recovery(ready, "alice")
    _, new = _link_token(ready, second.message_id)
    with pytest.raises(recovery.InvalidTokenError):
        recovery.reset_password(ready, "alice", old, "brand-new-pass")
    recovery.reset_password(ready, "alice", new, "brand-new-pass")


def test_wrong_token_and_wrong_user_say_the_same(ready: Engine) -> None:
    req = recovery.request_recovery(ready, "alice")
    _, token = _link_token(ready, req.message_id)
    msgs = set()
    for user, tok in (("alice", "not-a-token"), ("nobody", token), ("nobody", "x")):
        with pytest.raises(recovery.InvalidTokenError) as err:
            recovery.reset_password(ready, user, tok, "brand-new-pass")
        msgs.add(str(err.value))
    assert msgs == {recovery.INVALID_TOKEN}


def test_rate_limit_five_per_hour(ready: Engine) -> None:
    t0 = utcnow()
    for i in range(5):
        recovery.request_recovery(ready, "alice", now=t0 + timedelta(minutes=i))
    with pytest.raises(recovery.RecoveryError, match="already got 5 recovery emails"):
        recovery.request_recovery(ready, "alice", now=t0 + timedelta(minutes=10))
    assert queue.count_messages(ready, status="all") == 5
    recovery.request_recovery(ready, "alice", now=t0 + timedelta(minutes=61))


def test_refusals_no_address_unknown_user_no_admin(engine: Engine) -> None:
    users.add_user(engine, "bob")
    settings.set_admin_email(engine, "admin@er.example.com")
    with pytest.raises(recovery.RecoveryError, match="A valid email address is required for password recovery"):
        recovery.request_recovery(engine, "bob")
    with pytest.raises(NotFoundError, match="no user named 'ghost'"):
        recovery.request_recovery(engine, "ghost")
    assert queue.count_messages(engine, status="all") == 0


def test_users_rules(engine: Engine) -> None:
    with pytest.raises(ValidationError, match="Username must be"):
        users.add_user(engine, "bad name")
    with pytest.raises(ValidationError, match="at least 8"):
        users.add_user(engine, "carol", password="short")
    users.add_user(engine, "carol", email="carol@example.com")
    with pytest.raises(ValidationError, match="already taken"):
        users.add_user(engine, "carol")
    with pytest.raises(users.ProtectedUserError, match="cannot be removed"):
        users.remove_user(engine, "admin")
    users.remove_user(engine, "carol")
    assert [u.username for u in users.list_users(engine)] == ["admin"]
    stored = users.hash_password("correct horse")
    assert "correct horse" not in stored
    assert users.verify_password("correct horse", stored) and not users.verify_password("wrong", stored)


def test_mailer_enqueues_and_validates_like_the_cli(engine: Engine, db_url: str) -> None:
    settings.set_admin_email(engine, "admin@er.example.com")
    mailer = Mailer(db_url)
    ids = mailer.send(["a@example.com", "b@example.com"], "Scan finished", "0 matches")
    assert len(ids) == 2
    assert {queue.get_message(engine, i).kind for i in ids} == {"notification"}
    with pytest.raises(ValueError) as err:
        mailer.send("not an address", "Subject", "body")
    res = CliRunner().invoke(
        cli, ["--db", db_url, "send", "--to", "not an address", "--subject", "Subject", "--body", "body"]
    )
    assert res.exit_code == 2
    assert str(err.value) in res.stderr
    with pytest.raises(ValueError, match="line breaks"):
        mailer.send("a@example.com", "Bad\r\nBcc: x@example.com", "body")
    assert queue.count_messages(engine, status="all") == 2
    mailer.close()


def test_user_cli(db_url: str, engine: Engine) -> None:
    settings.set_admin_email(engine, "admin@er.example.com")
    settings.set_master_host(engine, "er.example.com")
    r = CliRunner()

    def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return r.invoke(cli, ["--db", db_url, *args], input=input)

    assert (
        run("user", "add", "dave", "--email", "dave@example.com", "--password-stdin", input="first-pass-1\n").exit_code
        == 0
    )
    rows = json.loads(run("user", "list", "--json").stdout)
    assert [(u["username"], u["email"]) for u in rows] == [
        ("admin", "admin@er.example.com"),
        ("dave", "dave@example.com"),
    ]
    assert "first-pass-1" not in json.dumps(rows)
    assert run("user", "set-email", "dave", "d2@example.com").exit_code == 0
    assert run("user", "set-email", "dave", "nope").exit_code == 2
    res = run("user", "recover", "dave")
    assert res.exit_code == 0 and "er.example.com" in res.stdout
    msg_id = queue.list_messages(engine, status="all")[0].id
    assert msg_id is not None
    _, token = _link_token(engine, msg_id)
    bad = run("user", "reset-password", "dave", "--token-stdin", "--password-stdin", input="wrong\nnew-pass-22\n")
    assert bad.exit_code == 2 and recovery.INVALID_TOKEN in bad.stderr
    ok = run("user", "reset-password", "dave", "--token-stdin", "--password-stdin", input=f"{token}\nnew-pass-22\n")
    assert ok.exit_code == 0, ok.output
    assert users.verify_password("new-pass-22", users.get_user(engine, "dave").password_hash)
    assert run("user", "remove", "admin", "--yes").exit_code == 1
    assert run("user", "remove", "dave", "--yes").exit_code == 0


def test_reset_password_reads_the_token_from_stdin(db_url: str, engine: Engine) -> None:
    """The token can stay out of argv: first stdin line the token, second the password."""
    settings.set_admin_email(engine, "admin@er.example.com")
    settings.set_master_host(engine, "er.example.com")
    users.add_user(engine, "erin", email="erin@example.com", password="first-pass-1")
    req = recovery.request_recovery(engine, "erin")
    _, token = _link_token(engine, req.message_id)
    r = CliRunner()

    def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return r.invoke(cli, ["--db", db_url, "user", "reset-password", "erin", *args], input=input)

    argv = run("--token", token, "--password-stdin", input="new-pass-33\n")  # never a secret in argv
    assert argv.exit_code == 2 and "Token is a secret and --token would show it" in argv.stderr
    assert token not in argv.output
    neither = run("--password-stdin", input="new-pass-33\n")
    assert neither.exit_code == 2 and "Token" in neither.stderr
    empty = run("--token-stdin", "--password-stdin", input="\nnew-pass-33\n")
    assert empty.exit_code == 2 and "Token is empty" in empty.stderr
    assert users.verify_password("first-pass-1", users.get_user(engine, "erin").password_hash)
    ok = run("--token-stdin", "--password-stdin", input=f"{token}\nnew-pass-33\n")
    assert ok.exit_code == 0, ok.output
    assert token not in ok.output
    assert users.verify_password("new-pass-33", users.get_user(engine, "erin").password_hash)
