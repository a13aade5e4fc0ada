"""The Test of an MTA: what the operator reads, the transcript, the MTA's
health, and no password anywhere."""

from __future__ import annotations

import asyncio
import base64
import email
import ssl
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from ertui import mtas, settings
from ertui.errors import ValidationError
from ertui.mta_rules import Security
from ertui.smtp.outcome import ACCEPTED, ErrorKind, MtaConfig, ProbeResult
from tests.smtpd import RawServer, SmtpServer, closed_port

ADMIN = "postmaster@example.org"
MASTER = "mail.example.org"
SECRET = "Tr0ub4dor&3-secret"


@pytest.fixture
def ready(engine: Engine) -> Engine:
    settings.set_admin_email(engine, ADMIN)
    settings.set_master_host(engine, MASTER)
    return engine


@pytest.fixture
def auth_server(server_ssl_ctx: ssl.SSLContext) -> Iterator[SmtpServer]:
    with SmtpServer("starttls", server_ctx=server_ssl_ctx, auth={"mailer": SECRET}) as srv:
        yield srv


def cfg(port: int, security: Security = Security.NONE, **kw: object) -> MtaConfig:
    kw.setdefault("timeout", 5.0)
    return MtaConfig(host="127.0.0.1", port=port, security=security, **kw)  # type: ignore[arg-type]


def secret_forms(user: str = "mailer", secret: str = SECRET) -> list[str]:
    raw = secret.encode()
    forms = [secret]
    for blob in (raw, b"\0" + user.encode() + b"\0" + raw):
        forms.append(base64.b64encode(blob).decode().rstrip("="))
    return forms


def assert_no_secret(result: ProbeResult) -> None:
    text = "\n".join([*result.transcript, result.outcome.message, result.outcome.hint])
    for form in secret_forms():
        assert form not in text


async def test_success_reads_accepted_and_the_server_reply(ready: Engine, smtp_server: SmtpServer) -> None:
    result = await mtas.run_test(ready, cfg(smtp_server.port), "ops@example.net")
    assert result.outcome.ok
    assert result.outcome.message == f"{ACCEPTED}: 250 2.0.0 Ok: queued as TEST00001"
    assert result.transcript[0].startswith("* connecting to 127.0.0.1 port")
    assert "S: 220 mx.test.local aiosmtpd-test" in result.transcript
    assert f"C: EHLO {MASTER}" in result.transcript
    assert f"C: MAIL FROM:<{ADMIN}>" in result.transcript
    assert "C: RCPT TO:<ops@example.net>" in result.transcript
    assert "S: 250 2.0.0 Ok: queued as TEST00001" in result.transcript
    got = smtp_server.received[0]
    assert (got.mail_from, got.rcpt_tos) == (ADMIN, ["ops@example.net"])
    msg = email.message_from_bytes(got.data, policy=policy.default)
    assert msg["From"] == ADMIN and msg["To"] == "ops@example.net"
    assert msg["Subject"] and msg["Date"]
    assert msg["Message-ID"].endswith(f"@{MASTER}>")


async def test_no_admin_address_refuses_before_connecting(engine: Engine, smtp_server: SmtpServer) -> None:
    with pytest.raises(settings.NoAdminAddressError) as info:
        await mtas.run_test(engine, cfg(smtp_server.port), "ops@example.net")
    assert str(info.value) == settings.NO_ADMIN_ADDRESS
    assert smtp_server.connections_total == 0


async def test_bad_recipient_is_bad_input_before_connecting(ready: Engine, smtp_server: SmtpServer) -> None:
    with pytest.raises(ValidationError) as info:
        await mtas.run_test(ready, cfg(smtp_server.port), "not an address")
    assert info.value.field == "To"
    assert smtp_server.connections_total == 0


async def test_tls_transcript_has_version_cipher_subject_and_expiry(
    ready: Engine, starttls_server: SmtpServer, trust_ca: Path
) -> None:
    result = await mtas.run_test(ready, cfg(starttls_server.port, Security.STARTTLS), "ops@example.net")
    assert result.outcome.ok, result.outcome
    lines = "\n".join(result.transcript)
    assert "* TLS established: TLSv1." in lines
    assert "cipher " in lines
    assert "server certificate: subject " in lines and "trustme" in lines
    assert "valid until (notAfter) 3000-01-01" in lines


@pytest.mark.parametrize(
    ("server_fixture", "security"),
    [("ssl_server", Security.SSL), ("starttls_server", Security.STARTTLS)],
)
async def test_untrusted_certificate_is_shown_in_the_transcript(
    ready: Engine, request: pytest.FixtureRequest, server_fixture: str, security: Security
) -> None:
    server: SmtpServer = request.getfixturevalue(server_fixture)
    result = await mtas.run_test(ready, cfg(server.port, security), "ops@example.net")
    assert result.outcome.kind == ErrorKind.TLS_CERTIFICATE
    lines = "\n".join(result.transcript)
    assert "the certificate presented (fetched again without verification):" in lines
    assert "server certificate: subject " in lines and "(notAfter) 3000-01-01" in lines
    assert server.received == []


async def test_failure_keeps_kind_code_hint_and_transcript(ready: Engine, smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.rcpt_reply = "550 5.1.1 <ops@example.net>: Recipient address rejected"
    result = await mtas.run_test(ready, cfg(smtp_server.port), "ops@example.net")
    o = result.outcome
    assert (o.ok, o.kind, o.code, o.permanent) == (False, ErrorKind.RECIPIENT_REFUSED, 550, True)
    assert "Recipient address rejected" in o.message
    assert "S: 550 5.1.1 <ops@example.net>: Recipient address rejected" in result.transcript
    failed = [line for line in result.transcript if line.startswith("* failed: ")]
    assert failed == ["* failed: recipient_refused 550: 5.1.1 <ops@example.net>: Recipient address rejected"]
    assert result.transcript[-4:] == ["C: RSET", "S: 250 OK", "C: QUIT", "S: 221 Bye"]


async def test_password_absent_when_auth_succeeds(ready: Engine, auth_server: SmtpServer, trust_ca: Path) -> None:
    config = cfg(auth_server.port, Security.STARTTLS, use_auth=True, username="mailer", password=SECRET)
    result = await mtas.run_test(ready, config, "ops@example.net")
    assert result.outcome.ok, result.outcome
    assert "C: AUTH PLAIN <redacted>" in result.transcript
    assert_no_secret(result)


async def test_password_absent_when_auth_fails(ready: Engine, auth_server: SmtpServer, trust_ca: Path) -> None:
    config = cfg(auth_server.port, Security.STARTTLS, use_auth=True, username="mailer", password=SECRET + "-wrong")
    result = await mtas.run_test(ready, config, "ops@example.net")
    assert result.outcome.kind == ErrorKind.AUTH_FAILED
    text = "\n".join(result.transcript)
    for form in secret_forms(secret=SECRET + "-wrong"):
        assert form not in text


async def login_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A tiny server that offers only AUTH LOGIN (username, then password)."""

    def say(line: str) -> None:
        writer.write(line.encode() + b"\r\n")

    say("220 raw.test ESMTP")
    awaiting_password = False
    while line := await reader.readline():
        cmd = line.decode().strip()
        upper = cmd.upper()
        if awaiting_password:
            awaiting_password = False
            ok = base64.b64decode(cmd).decode() == SECRET
            say("235 2.7.0 ok" if ok else "535 5.7.8 bad credentials")
        elif upper.startswith("EHLO"):
            say("250-raw.test")
            say("250 AUTH LOGIN")
        elif upper.startswith("AUTH LOGIN"):
            awaiting_password = True
            say("334 UGFzc3dvcmQ6")
        elif upper.startswith(("MAIL", "RCPT")):
            say("250 ok")
        elif upper == "DATA":
            say("354 go ahead")
            await writer.drain()
            while (await reader.readline()) not in (b".\r\n", b""):
                pass
            say("250 2.0.0 queued as RAW1")
        elif upper == "QUIT":
            say("221 bye")
            await writer.drain()
            return
        else:
            say("502 not implemented")
        await writer.drain()


async def test_auth_login_continuation_lines_are_redacted(ready: Engine) -> None:
    with RawServer(login_only) as srv:
        config = cfg(srv.port, use_auth=True, username="mailer", password=SECRET)
        result = await mtas.run_test(ready, config, "ops@example.net")
    assert result.outcome.ok, result.outcome
    assert result.outcome.message == f"{ACCEPTED}: 250 2.0.0 queued as RAW1"
    i = result.transcript.index("C: AUTH LOGIN <redacted>")
    assert result.transcript[i + 1 : i + 4] == ["S: 334 UGFzc3dvcmQ6", "C: <redacted>", "S: 235 2.7.0 ok"]
    assert_no_secret(result)


async def test_saved_mta_health_is_updated(ready: Engine, smtp_server: SmtpServer) -> None:
    good = mtas.add(ready, description="Relay", host="127.0.0.1", port=smtp_server.port)
    bad = mtas.add(ready, description="Gone", host="127.0.0.1", port=closed_port())
    assert good.id is not None and bad.id is not None
    ok = await mtas.run_test(ready, mtas.config_for(good), "ops@example.net")
    ko = await mtas.run_test(ready, mtas.config_for(bad), "ops@example.net")
    assert ok.outcome.ok and ko.outcome.kind == ErrorKind.REFUSED
    good_row, bad_row = mtas.get(ready, good.id), mtas.get(ready, bad.id)
    assert good_row.last_success_at is not None and good_row.consecutive_failures == 0
    assert bad_row.last_success_at is None and bad_row.consecutive_failures == 1
    assert bad_row.last_error is not None and bad_row.last_error.startswith("refused:")


async def test_saved_mta_password_is_decrypted_for_auth(ready: Engine, auth_server: SmtpServer, trust_ca: Path) -> None:
    row = mtas.add(
        ready,
        description="Auth",
        host="127.0.0.1",
        port=auth_server.port,
        security=Security.STARTTLS,
        username="mailer",
        password=SECRET,
    )
    result = await mtas.run_test(ready, mtas.config_for(row), "ops@example.net")
    assert result.outcome.ok, result.outcome
    assert auth_server.auth_attempts == ["mailer"]
    assert_no_secret(result)
