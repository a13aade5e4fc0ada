"""The sender's identity (issue 13 item 3): a From display name and a Reply-To
address on every email — notifications, recovery and the Test — seen by a real
aiosmtpd server; header-safe (RFC 2047 when not ASCII, CR/LF refused)."""

from __future__ import annotations

import email
import json
from email.header import decode_header, make_header
from email.message import Message
from email.policy import default as default_policy

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from ertui import audit, mtas, queue, recovery, render, settings, users
from ertui.cli import cli
from ertui.delivery.worker import Worker
from ertui.errors import ValidationError
from tests.smtpd import SmtpServer

ADMIN = "admin@er.example.com"


@pytest.fixture
def ready(engine: Engine, smtp_server: SmtpServer) -> Engine:
    settings.set_admin_email(engine, ADMIN)
    settings.set_master_host(engine, "er.example.com")
    mtas.add(engine, description="sink", host="127.0.0.1", port=smtp_server.port)
    return engine


def received(server: SmtpServer) -> list[Message]:
    return [email.message_from_bytes(r.data, policy=default_policy) for r in server.received]


def decoded(raw_header: str) -> str:
    """A header as RFC 2047 says to read it (adjacent encoded words joined)."""
    return str(make_header(decode_header(raw_header)))


def raw_header(data: bytes, name: str) -> str:
    """The header's value as it went over the wire, unfolded."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8")
    lines = head.replace("\r\n ", " ").split("\r\n")
    return next(line.split(": ", 1)[1] for line in lines if line.lower().startswith(name.lower() + ": "))


async def test_notification_recovery_and_test_carry_the_name_and_reply_to(
    ready: Engine, smtp_server: SmtpServer
) -> None:
    settings.set_from_name(ready, "Example Ops, Inc.")
    settings.set_reply_to(ready, "help@er.example.com")
    users.add_user(ready, "alice", email="alice@example.com")
    queue.enqueue(ready, "ops@example.com", "Scan finished", "0 matches.")
    recovery.request_recovery(ready, "alice")
    await Worker(ready).run(once=True)
    mta = mtas.list_mtas(ready)[0]
    result = await mtas.run_test(ready, mtas.config_for(mta), "tester@example.com")
    assert result.outcome.ok, result.outcome.summary

    got = received(smtp_server)
    assert len(got) == 3
    for r, msg in zip(smtp_server.received, got, strict=True):
        assert r.mail_from == ADMIN  # the envelope keeps the bare address
        (sender,) = msg["From"].addresses  # type: ignore[union-attr]
        assert (sender.display_name, sender.addr_spec) == ("Example Ops, Inc.", ADMIN)
        assert raw_header(r.data, "From") == f'"Example Ops, Inc." <{ADMIN}>'
        assert msg["Reply-To"] == "help@er.example.com"
    assert {m["Subject"] for m in got} == {"Scan finished", "Password recovery for alice", "ertui test email"}


async def test_without_a_name_the_from_is_the_bare_address_and_no_reply_to(
    ready: Engine, smtp_server: SmtpServer
) -> None:
    settings.set_from_name(ready, "Someone")
    settings.set_reply_to(ready, "help@er.example.com")
    settings.set_from_name(ready, "")
    settings.set_reply_to(ready, None)
    queue.enqueue(ready, "ops@example.com", "Hello", "body")
    await Worker(ready).run(once=True)
    (r,) = smtp_server.received
    assert raw_header(r.data, "From") == ADMIN
    assert b"Reply-To" not in r.data.split(b"\r\n\r\n", 1)[0]


@pytest.mark.parametrize("name", ["Jürgen Müller — Betrieb", "运维团队" * 12])
async def test_a_name_not_ascii_is_encoded_per_rfc_2047(ready: Engine, smtp_server: SmtpServer, name: str) -> None:
    settings.set_from_name(ready, name)
    queue.enqueue(ready, "ops@example.com", "Hello", "body")
    await Worker(ready).run(once=True)
    mta = mtas.list_mtas(ready)[0]
    assert (await mtas.run_test(ready, mtas.config_for(mta), "tester@example.com")).outcome.ok
    for r in smtp_server.received:
        head = r.data.split(b"\r\n\r\n", 1)[0]
        assert head.isascii()  # no 8-bit header: no server needs SMTPUTF8 for a name
        assert all(len(line) <= 78 for line in head.split(b"\r\n"))
        value = raw_header(r.data, "From")
        assert "=?utf-8?" in value
        assert decoded(value) == f"{name} <{ADMIN}>"


@pytest.mark.parametrize("bad", ["Ops\r\nBcc: victim@example.com", "Ops\nX", "Ops\rX", "Ops\x00", "Ops\x1b[31m"])
def test_line_breaks_and_control_characters_are_refused(ready: Engine, bad: str) -> None:
    with pytest.raises(ValidationError) as exc:
        settings.set_from_name(ready, bad)
    assert exc.value.key == "from_name"
    assert exc.value.message.startswith("From name must not contain")
    assert settings.sender_identity(ready) == ("", None)
    with pytest.raises(ValidationError) as exc:
        settings.set_reply_to(ready, "a@example.com\r\nBcc: victim@example.com")
    assert exc.value.key == "reply_to"
    assert settings.sender_identity(ready) == ("", None)


def test_a_name_over_100_characters_is_refused(ready: Engine) -> None:
    with pytest.raises(ValidationError, match=r"From name must be 1 to 100 characters long\."):
        settings.set_from_name(ready, "x" * 101)


def test_set_sender_checks_every_field_before_writing_any(ready: Engine) -> None:
    with pytest.raises(ValidationError) as exc:
        settings.set_sender(ready, "new@example.com", "New Name", "not an address")
    assert exc.value.key == "reply_to"
    assert settings.admin_email(ready) == ADMIN
    assert settings.sender_identity(ready) == ("", None)
    saved = settings.set_sender(ready, "new@example.com", "New Name", "")
    assert (saved.address, saved.name, saved.reply_to) == ("new@example.com", "New Name", None)
    assert saved.from_header == "New Name <new@example.com>"


def test_address_header_quotes_specials_and_keeps_a_utf8_address() -> None:
    assert render.address_header("a@example.com") == "a@example.com"
    assert render.address_header("a@example.com", 'Ops "A" Team') == '"Ops \\"A\\" Team" <a@example.com>'
    assert render.address_header("jürgen@bü.example", "Ops") == "Ops <jürgen@bü.example>"
    looks_encoded = render.address_header("a@example.com", "=?utf-8?q?Boss?=")
    assert looks_encoded.startswith("=?utf-8?") and decoded(looks_encoded) == "=?utf-8?q?Boss?= <a@example.com>"


def test_cli_set_name_reply_to_show_json_and_audit(ready: Engine, db_url: str) -> None:
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        res = runner.invoke(cli, ["--db", db_url, *args], catch_exceptions=False)
        return res.exit_code, res.stdout, res.stderr

    assert run("admin", "set-name", "Ops Team")[0] == 0
    assert run("admin", "set-reply-to", "help@er.example.com")[0] == 0
    code, out, _ = run("admin", "show", "--json")
    assert code == 0
    assert json.loads(out) == {
        "username": "admin",
        "email": ADMIN,
        "from_name": "Ops Team",
        "reply_to": "help@er.example.com",
    }
    code, out, _ = run("admin", "show")
    assert "From name: Ops Team" in out and "Reply-To:  help@er.example.com" in out

    code, out, err = run("admin", "set-name", "Ops\r\nBcc: victim@example.com")
    assert (code, out) == (2, "")
    assert err == "ertui: From name must not contain line breaks or NUL characters.\n"
    code, _, err = run("admin", "set-reply-to", "nobody")
    assert code == 2 and err.startswith("ertui: Reply-To 'nobody' is not a valid email address")
    code, _, err = run("admin", "set-reply-to")
    assert code == 2 and "--none" in err
    assert settings.sender_identity(ready) == ("Ops Team", "help@er.example.com")

    assert run("admin", "set-reply-to", "--none")[0] == 0
    assert run("admin", "set-name", "")[0] == 0
    code, out, _ = run("admin", "show", "--json")
    assert (json.loads(out)["from_name"], json.loads(out)["reply_to"]) == (None, None)
    actions = [(e.action, e.detail) for e in reversed(audit.entries(ready))]
    assert actions[-4:] == [
        ("sender.name", "From name set to 'Ops Team'"),
        ("sender.reply_to", "Reply-To set to 'help@er.example.com'"),
        ("sender.reply_to", "Reply-To cleared"),
        ("sender.name", "From name cleared"),
    ]
