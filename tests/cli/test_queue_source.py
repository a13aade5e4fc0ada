"""`queue show --raw/--headers`: the exact bytes the worker sends (equal to what
a real server received), the header block alone, and a recovery email's token
masked unless --reveal-secrets (which warns on stderr)."""

from __future__ import annotations

import asyncio
import email
import re
from email import policy
from email.message import EmailMessage

from click.testing import CliRunner
from sqlalchemy.engine import Engine

from ertui import mtas, queue, recovery, users
from ertui.cli import cli
from ertui.delivery.worker import Worker
from tests.delivery.conftest import fast_settings
from tests.smtpd import SmtpServer


def body(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def show(db_url: str, *args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(cli, ["--db", db_url, "queue", "show", *args])
    return result.exit_code, result.stdout_bytes, result.stderr


def test_raw_is_byte_for_byte_what_the_server_received(ready: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    [mid] = queue.enqueue(ready, ["ops@example.net"], "Grüße [URGENT]", "Line one\nLine two — ünïcode\n")
    code, raw, _ = show(db_url, str(mid), "--raw")
    assert code == 0 and raw.endswith(b"\r\n") and b"\r\n\r\n" in raw
    code, head, _ = show(db_url, str(mid), "--headers")
    assert code == 0 and raw.startswith(head) and b"\r\n\r\n" not in head and b"Subject: " in head
    mtas.add(ready, description="Relay", host="127.0.0.1", port=smtp_server.port)
    asyncio.run(asyncio.wait_for(Worker(ready, fast_settings()).run(once=True), 30))
    [received] = smtp_server.received
    assert received.data == raw


def test_a_recovery_token_is_masked_unless_revealed(ready: Engine, db_url: str) -> None:
    users.add_user(ready, "dave", email="dave@example.net")
    req = recovery.request_recovery(ready, "dave")
    code, masked, _ = show(db_url, str(req.message_id), "--raw")
    assert code == 0 and re.search(r"token=[A-Za-z0-9_-]{4}…", body(masked))
    code, live, err = show(db_url, str(req.message_id), "--raw", "--reveal-secrets")
    token = re.search(r"token=([A-Za-z0-9_-]{20,})", body(live))
    assert code == 0 and token is not None and "reveals a live password-reset token" in err
    code, text, _ = show(db_url, str(req.message_id))  # the summary never shows it either
    assert code == 0 and token.group(1).encode() not in text
    recovery.reset_password(ready, "dave", token.group(1), "N3w-secret-pw")  # the revealed token is the live one


def test_raw_with_json_is_bad_input(ready: Engine, db_url: str) -> None:
    [mid] = queue.enqueue(ready, ["ops@example.net"], "Hi", "x")
    code, _, err = show(db_url, str(mid), "--raw", "--json")
    assert code == 2 and "not with --json" in err
