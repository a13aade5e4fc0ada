"""classify(): no exception from the network, ssl or aiosmtplib escapes
unclassified, and each kind carries the right permanence and a hint.

Failures that cannot be staged with a local server (DNS, unreachable hosts,
expired certificates) are built as the exceptions aiosmtplib raises."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

import aiosmtplib
import pytest

from ertui.mta_rules import Security
from ertui.smtp.classify import classify
from ertui.smtp.outcome import ErrorKind, MtaConfig, Outcome
from ertui.smtp.session import SmtpSession
from tests.smtp.test_session import silent_server
from tests.smtpd import RawServer

CFG = MtaConfig(host="mx.example.com", port=587, security=Security.STARTTLS, timeout=7)


def wrapped(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


def test_dns_failure() -> None:
    exc = wrapped(
        aiosmtplib.SMTPConnectError("Error connecting"), socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    )
    o = classify(exc, "connect", CFG)
    assert (o.kind, o.permanent) == (ErrorKind.DNS, False)
    assert o.message == "mx.example.com cannot be resolved: Name or service not known"


def test_unreachable_host_is_refused_with_the_reason() -> None:
    exc = wrapped(aiosmtplib.SMTPConnectError("Error connecting"), OSError(errno.EHOSTUNREACH, "No route to host"))
    o = classify(exc, "connect", CFG)
    assert o.kind == ErrorKind.REFUSED
    assert "No route to host" in o.message


def test_expired_certificate_hint() -> None:
    err = ssl.SSLCertVerificationError(1, "certificate verify failed")
    err.verify_message = "certificate has expired"
    o = classify(err, "starttls", CFG)
    assert o.kind == ErrorKind.TLS_CERTIFICATE
    assert "expired" in o.hint and "verification off" in o.hint


def test_old_tls_version_hint() -> None:
    err = ssl.SSLError(1, "[SSL: UNSUPPORTED_PROTOCOL] unsupported protocol")
    err.reason = "UNSUPPORTED_PROTOCOL"
    o = classify(err, "starttls", CFG)
    assert o.kind == ErrorKind.TLS_HANDSHAKE
    assert "outdated TLS" in o.hint


@pytest.mark.parametrize(
    ("code", "kind", "permanent"),
    [
        (535, ErrorKind.AUTH_FAILED, False),
        (454, ErrorKind.AUTH_FAILED, False),
        (534, ErrorKind.AUTH_FAILED, False),
        (538, ErrorKind.STARTTLS_REQUIRED, False),
        (504, ErrorKind.AUTH_UNSUPPORTED, False),
    ],
)
def test_auth_replies(code: int, kind: ErrorKind, permanent: bool) -> None:
    o = classify(aiosmtplib.SMTPAuthenticationError(code, "nope"), "auth", CFG)
    assert (o.kind, o.code, o.permanent) == (kind, code, permanent)
    assert o.mta_failure


def test_421_after_the_greeting_is_an_mta_failure() -> None:
    o = classify(aiosmtplib.SMTPSenderRefused(421, "4.7.0 shutting down", "a@b.c"), "mail", CFG)
    assert (o.kind, o.permanent, o.mta_failure) == (ErrorKind.DISCONNECTED, False, True)


def test_helo_refused_points_at_the_master_host_name() -> None:
    o = classify(aiosmtplib.SMTPHeloError(501, "5.5.2 invalid hostname"), "ehlo", CFG)
    assert (o.kind, o.permanent) == (ErrorKind.PROTOCOL, True)
    assert "master server host name" in o.hint


def test_all_recipients_refused_uses_the_first_reply() -> None:
    exc = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "5.1.1 unknown", "x@example.com")])
    o = classify(exc, "rcpt", CFG)
    assert (o.kind, o.code, o.permanent) == (ErrorKind.RECIPIENT_REFUSED, 550, True)


def test_an_unsendable_address_is_permanent() -> None:
    o = classify(ValueError("Address contains prohibited characters"), "rcpt", CFG)
    assert (o.kind, o.permanent, o.mta_failure) == (ErrorKind.RECIPIENT_REFUSED, True, False)


def test_timeout_after_data_says_delivery_is_unknown() -> None:
    o = classify(aiosmtplib.SMTPReadTimeoutError("Timed out"), "data", CFG)
    assert (o.kind, o.permanent) == (ErrorKind.TIMEOUT, False)
    assert "7 s" in o.message
    assert "may or may not" in o.hint


def test_reset_while_sending_is_disconnected() -> None:
    o = classify(ConnectionResetError(errno.ECONNRESET, "reset"), "rcpt", CFG)
    assert (o.kind, o.mta_failure) == (ErrorKind.DISCONNECTED, True)


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("boom"),
        aiosmtplib.SMTPException("weird"),
        aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported"),
        aiosmtplib.SMTPResponseException(-1, "Malformed SMTP response line: x"),
        KeyError("k"),
        EOFError(),
        asyncio.IncompleteReadError(b"", 10),
    ],
)
@pytest.mark.parametrize("stage", ["connect", "ehlo", "starttls", "auth", "mail", "rcpt", "data"])
def test_anything_becomes_an_outcome_with_a_hint(exc: BaseException, stage: str) -> None:
    for config in (CFG, None):
        o = classify(exc, stage, config)
        assert isinstance(o, Outcome) and not o.ok
        assert o.kind in set(ErrorKind)
        assert o.message and o.hint


async def test_a_server_that_does_not_speak_smtp() -> None:
    server, script = silent_server(b"SSH-2.0-OpenSSH_9.2\r\n")
    with server as srv:
        config = MtaConfig(host="127.0.0.1", port=srv.port, timeout=2)
        session = SmtpSession(config, "ertui.example.com")
        o = await session.open()
        await session.close()
        await script.settle()
    assert o.kind == ErrorKind.PROTOCOL
    assert "not SMTP" in o.message and "SSH-2.0" in o.message


async def test_a_server_that_hangs_up_before_greeting() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        return None

    with RawServer(hang_up) as srv:
        config = MtaConfig(host="127.0.0.1", port=srv.port, timeout=2)
        session = SmtpSession(config, "ertui.example.com")
        o = await session.open()
    assert o.kind == ErrorKind.DISCONNECTED
    assert "before greeting" in o.message
