"""A recovery email delivered end to end: enqueue → worker → real aiosmtpd."""

from __future__ import annotations

import email
from email.policy import default as default_policy

from sqlalchemy.engine import Engine

from ertui import mtas, queue, recovery, settings, users
from ertui.delivery.worker import Worker
from tests.smtpd import SmtpServer


async def test_recovery_email_delivered_with_its_link(engine: Engine, smtp_server: SmtpServer) -> None:
    settings.set_admin_email(engine, "admin@er.example.com")
    settings.set_master_host(engine, "er.example.com")
    users.add_user(engine, "alice", email="alice@example.com")
    mtas.add(engine, description="sink", host="127.0.0.1", port=smtp_server.port)
    req = recovery.request_recovery(engine, "alice")

    await Worker(engine).run(once=True)

    assert queue.get_message(engine, req.message_id).status == "sent"
    assert len(smtp_server.received) == 1
    got = smtp_server.received[0]
    assert (got.mail_from, got.rcpt_tos) == ("admin@er.example.com", ["alice@example.com"])
    msg = email.message_from_bytes(got.data, policy=default_policy)
    assert msg["From"] == "admin@er.example.com"
    assert msg["To"] == "alice@example.com"
    assert msg["Subject"] == "Password recovery for alice"
    assert msg["Message-ID"].endswith("@er.example.com>")
    body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    links = [w for w in body.split() if w.startswith("https://")]
    assert len(links) == 1 and links[0].startswith("https://er.example.com/reset-password?token=")
    token = links[0].split("token=", 1)[1]
    recovery.reset_password(engine, "alice", token, "a-new-password")
    assert users.verify_password("a-new-password", users.get_user(engine, "alice").password_hash)
