"""SmtpSession against real aiosmtpd servers: every security mode, AUTH, and
each failure classified with what the operator reads."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from ertui.mta_rules import Security
from ertui.smtp.classify import AUTH_REJECTED_HINT, IS_SSL_HINT, NOT_SSL_HINT
from ertui.smtp.outcome import ErrorKind, MtaConfig, Outcome
from ertui.smtp.session import SmtpSession
from ertui.smtp.transcript import Transcript
from tests.smtpd import RawServer, SmtpServer, closed_port, greet_421

HELO = "ertui.example.com"
MSG = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n"
USERS = {"mailer": "right-password"}


def cfg(port: int, security: Security = Security.NONE, **kw: object) -> MtaConfig:
    kw.setdefault("timeout", 5.0)
    return MtaConfig(host="127.0.0.1", port=port, security=security, **kw)  # type: ignore[arg-type]


async def send_one(config: MtaConfig, transcript: Transcript | None = None) -> Outcome:
    session = SmtpSession(config, HELO, transcript=transcript)
    try:
        return await session.send("a@example.com", "b@example.com", MSG)
    finally:
        await session.close()


def failed(outcome: Outcome, kind: ErrorKind) -> None:
    assert not outcome.ok, outcome
    assert outcome.kind == kind, outcome
    assert outcome.hint, "every failure carries a hint for the operator"
    assert outcome.mta_failure is (
        kind not in {ErrorKind.SENDER_REFUSED, ErrorKind.RECIPIENT_REFUSED, ErrorKind.DATA_REFUSED}
    )


Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


class Tracked:
    """Wraps a RawServer script and counts running handlers, so a test can wait
    until each has ended before the server's loop stops (a handler that outlives
    it warns at exit)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self._open = 0
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self._open += 1
            self._idle.clear()
        try:
            await self.script(reader, writer)
        finally:
            with self._lock:
                self._open -= 1
                if self._open == 0:
                    self._idle.set()

    def wait_done(self) -> None:
        """From a thread whose event loop is not needed to close the client."""
        self._idle.wait(5)

    async def settle(self) -> None:
        """From the client's event loop: let it close the sockets meanwhile."""
        for _ in range(500):
            if self._idle.is_set():
                return
            await asyncio.sleep(0.01)


def silent_server(first: bytes = b"") -> tuple[RawServer, Tracked]:
    """A server that never says a word (but ``first``, if given), each
    connection ending when the client hangs up."""

    async def quiet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if first:
            writer.write(first)
            await writer.drain()
        await asyncio.wait_for(reader.read(), 10)

    script = Tracked(quiet)
    return RawServer(script), script


@pytest.fixture
def auth_starttls_server(server_ssl_ctx: ssl.SSLContext) -> Iterator[SmtpServer]:
    with SmtpServer("starttls", server_ctx=server_ssl_ctx, auth=dict(USERS)) as srv:
        yield srv


@pytest.fixture
def auth_ssl_server(server_ssl_ctx: ssl.SSLContext) -> Iterator[SmtpServer]:
    with SmtpServer("ssl", server_ctx=server_ssl_ctx, auth=dict(USERS)) as srv:
        yield srv


# -- sessions that deliver ----------------------------------------------------


async def test_plain_session_delivers_and_keeps_the_queue_id(smtp_server: SmtpServer) -> None:
    outcome = await send_one(cfg(smtp_server.port))
    assert outcome.ok and outcome.code == 250
    assert outcome.message == "2.0.0 Ok: queued as TEST00001"
    assert smtp_server.received[0].mail_from == "a@example.com"
    assert smtp_server.received[0].rcpt_tos == ["b@example.com"]
    assert b"Subject: hi" in smtp_server.received[0].data


async def test_plain_mode_never_upgrades_silently(starttls_server: SmtpServer) -> None:
    transcript = Transcript()
    outcome = await send_one(cfg(starttls_server.port, Security.NONE), transcript)
    assert outcome.ok
    assert "C: STARTTLS" not in transcript.lines
    assert not any("TLS established" in line for line in transcript.lines)


async def test_ssl_session_delivers(ssl_server: SmtpServer, trust_ca: Path) -> None:
    outcome = await send_one(cfg(ssl_server.port, Security.SSL))
    assert outcome.ok, outcome
    assert len(ssl_server.received) == 1


async def test_starttls_session_delivers_over_tls(starttls_server: SmtpServer, trust_ca: Path) -> None:
    transcript = Transcript()
    outcome = await send_one(cfg(starttls_server.port, Security.STARTTLS), transcript)
    assert outcome.ok, outcome
    lines = transcript.lines
    assert lines.index("C: STARTTLS") < lines.index("C: MAIL FROM:<a@example.com>")
    assert any(line.startswith("* TLS established: TLSv1.") for line in lines)
    assert len(starttls_server.received) == 1


async def test_many_messages_over_one_session(smtp_server: SmtpServer) -> None:
    session = SmtpSession(cfg(smtp_server.port), HELO)
    outcomes = [await session.send("a@example.com", f"r{i}@example.com", MSG) for i in range(5)]
    assert session.is_open
    await session.close()
    assert not session.is_open
    assert [o.message for o in outcomes] == [f"2.0.0 Ok: queued as TEST{i:05d}" for i in range(1, 6)]
    assert [r.rcpt_tos for r in smtp_server.received] == [[f"r{i}@example.com"] for i in range(5)]
    assert smtp_server.connections_total == 1


async def test_a_refused_message_does_not_spoil_the_session(smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.rcpt_replies["bad@example.com"] = "550 5.1.1 no such user"
    session = SmtpSession(cfg(smtp_server.port), HELO)
    first = await session.send("a@example.com", "bad@example.com", MSG)
    second = await session.send("a@example.com", "good@example.com", MSG)
    await session.close()
    failed(first, ErrorKind.RECIPIENT_REFUSED)
    assert second.ok, second
    assert [r.rcpt_tos for r in smtp_server.received] == [["good@example.com"]]
    assert smtp_server.connections_total == 1


async def test_non_ascii_body_is_sent_as_8bitmime(smtp_server: SmtpServer) -> None:
    data = "Subject: Grüße\r\n\r\nÄrger über Öl\r\n".encode()
    session = SmtpSession(cfg(smtp_server.port), HELO)
    outcome = await session.send("a@example.com", "b@example.com", data)
    await session.close()
    assert outcome.ok, outcome
    assert "Ärger über Öl".encode() in smtp_server.received[0].data


# -- authentication -------------------------------------------------------------


async def test_auth_succeeds_after_starttls(auth_starttls_server: SmtpServer, trust_ca: Path) -> None:
    config = cfg(
        auth_starttls_server.port, Security.STARTTLS, use_auth=True, username="mailer", password="right-password"
    )
    outcome = await send_one(config)
    assert outcome.ok, outcome
    assert auth_starttls_server.auth_attempts == ["mailer"]
    assert len(auth_starttls_server.received) == 1


async def test_auth_succeeds_over_ssl(auth_ssl_server: SmtpServer, trust_ca: Path) -> None:
    config = cfg(auth_ssl_server.port, Security.SSL, use_auth=True, username="mailer", password="right-password")
    assert (await send_one(config)).ok


async def test_wrong_password_is_auth_failed_without_hanging(auth_starttls_server: SmtpServer, trust_ca: Path) -> None:
    config = cfg(auth_starttls_server.port, Security.STARTTLS, use_auth=True, username="mailer", password="wrong")
    outcome = await send_one(config)
    failed(outcome, ErrorKind.AUTH_FAILED)
    assert outcome.code == 535
    assert outcome.hint == AUTH_REJECTED_HINT
    assert not outcome.permanent
    # a 535 is final: no second mechanism is tried (lockouts)
    assert auth_starttls_server.auth_attempts == ["mailer"]
    assert auth_starttls_server.received == []


async def test_auth_not_offered_on_a_plain_connection(
    auth_starttls_server: SmtpServer,
) -> None:
    config = cfg(auth_starttls_server.port, Security.NONE, use_auth=True, username="mailer", password="right-password")
    outcome = await send_one(config)
    failed(outcome, ErrorKind.AUTH_UNSUPPORTED)
    assert "STARTTLS" in outcome.hint
    assert auth_starttls_server.received == []


# -- TLS mode mismatches and certificates --------------------------------------


async def test_ssl_against_a_plain_port(smtp_server: SmtpServer, trust_ca: Path) -> None:
    outcome = await send_one(cfg(smtp_server.port, Security.SSL, timeout=2.0))
    failed(outcome, ErrorKind.TLS_HANDSHAKE)
    assert outcome.hint == NOT_SSL_HINT
    assert smtp_server.received == []


async def test_ssl_against_a_starttls_port(starttls_server: SmtpServer, trust_ca: Path) -> None:
    outcome = await send_one(cfg(starttls_server.port, Security.SSL, timeout=2.0))
    failed(outcome, ErrorKind.TLS_HANDSHAKE)
    assert outcome.hint == NOT_SSL_HINT


@pytest.mark.parametrize("security", [Security.NONE, Security.STARTTLS])
async def test_plain_or_starttls_against_an_ssl_port(ssl_server: SmtpServer, security: Security) -> None:
    outcome = await send_one(cfg(ssl_server.port, security, timeout=0.5))
    failed(outcome, ErrorKind.PROTOCOL)
    assert "expects SSL" in outcome.message
    assert outcome.hint == IS_SSL_HINT


@pytest.mark.timeout(30)
async def test_plain_against_an_ssl_port_is_found_before_a_long_timeout(
    ssl_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SmtpSession, "tls_probe_after", 0.2)
    outcome = await send_one(cfg(ssl_server.port, timeout=120.0))
    failed(outcome, ErrorKind.PROTOCOL)
    assert outcome.hint == IS_SSL_HINT


async def slow_greeter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Greets after a pause (like sendmail's greet_pause), then takes EHLO and QUIT."""
    await asyncio.sleep(0.6)
    writer.write(b"220 slow.test ESMTP\r\n")
    while line := await reader.readline():
        if line.upper().startswith(b"QUIT"):
            writer.write(b"221 bye\r\n")
            await writer.drain()
            return
        writer.write(b"250 slow.test\r\n" if line.upper().startswith(b"EHLO") else b"502 no\r\n")
        await writer.drain()


async def test_a_slow_greeting_survives_the_tls_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SmtpSession, "tls_probe_after", 0.2)
    script = Tracked(slow_greeter)
    with RawServer(script) as srv:
        session = SmtpSession(cfg(srv.port, timeout=10.0), HELO)
        outcome = await session.open()
        await session.close()
        await script.settle()
        assert srv.connections_total == 2  # the session and the probe
    assert outcome.ok, outcome


async def test_unknown_ca_fails_verification(ssl_server: SmtpServer) -> None:
    outcome = await send_one(cfg(ssl_server.port, Security.SSL))
    failed(outcome, ErrorKind.TLS_CERTIFICATE)
    assert "not trusted" in outcome.message
    assert "turn certificate verification off" in outcome.hint
    assert ssl_server.received == []


async def test_unknown_ca_over_starttls_fails_verification(starttls_server: SmtpServer) -> None:
    outcome = await send_one(cfg(starttls_server.port, Security.STARTTLS))
    failed(outcome, ErrorKind.TLS_CERTIFICATE)
    assert starttls_server.received == []


async def test_unknown_ca_delivers_with_verification_off(ssl_server: SmtpServer) -> None:
    outcome = await send_one(cfg(ssl_server.port, Security.SSL, verify_tls=False))
    assert outcome.ok, outcome
    assert len(ssl_server.received) == 1


async def test_certificate_for_another_name_fails(ca: trustme.CA, trust_ca: Path) -> None:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("mx.other.example").configure_cert(ctx)
    with SmtpServer("ssl", server_ctx=ctx) as srv:
        outcome = await send_one(cfg(srv.port, Security.SSL))
        assert srv.received == []
    failed(outcome, ErrorKind.TLS_CERTIFICATE)
    assert "not valid for 127.0.0.1" in outcome.hint


def starttls_answer(reply: bytes | None) -> Tracked:
    """A server that offers STARTTLS and answers it with ``reply``, or with 220
    and then never a TLS handshake (None)."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 raw.test ESMTP\r\n")
        while line := await reader.readline():
            upper = line.upper()
            if upper.startswith(b"EHLO"):
                writer.write(b"250-raw.test\r\n250 STARTTLS\r\n")
            elif upper.startswith(b"STARTTLS") and reply is None:
                writer.write(b"220 go ahead\r\n")
                await writer.drain()
                await asyncio.wait_for(reader.read(), 10)
                return
            elif upper.startswith(b"STARTTLS"):
                writer.write(reply or b"")
            elif upper.startswith(b"QUIT"):
                writer.write(b"221 bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"502 5.5.1 not here\r\n")
            await writer.drain()

    return Tracked(script)


async def test_starttls_refused_by_the_server() -> None:
    script = starttls_answer(b"454 4.7.0 TLS not available due to local problem\r\n")
    with RawServer(script) as srv:
        outcome = await send_one(cfg(srv.port, Security.STARTTLS))
        await script.settle()
    failed(outcome, ErrorKind.STARTTLS_UNSUPPORTED)
    assert (outcome.code, outcome.message) == (454, "4.7.0 TLS not available due to local problem")


async def test_starttls_without_a_handshake_times_out() -> None:
    script = starttls_answer(None)
    with RawServer(script) as srv:
        outcome = await send_one(cfg(srv.port, Security.STARTTLS, timeout=0.3))
        await script.settle()
    failed(outcome, ErrorKind.TIMEOUT)
    assert "starttls" in outcome.message


async def test_starttls_required_but_not_offered(smtp_server: SmtpServer) -> None:
    outcome = await send_one(cfg(smtp_server.port, Security.STARTTLS))
    failed(outcome, ErrorKind.STARTTLS_UNSUPPORTED)
    assert "does not offer STARTTLS" in outcome.hint
    assert smtp_server.received == []  # no fallback to plain text


# -- the network and the greeting -----------------------------------------------


async def test_closed_port_is_refused() -> None:
    outcome = await send_one(cfg(closed_port()))
    failed(outcome, ErrorKind.REFUSED)
    assert "refused" in outcome.message
    assert not outcome.permanent


async def test_silent_server_times_out() -> None:
    server, script = silent_server()
    with server as srv:
        outcome = await send_one(cfg(srv.port, timeout=0.3))
        await script.settle()
    failed(outcome, ErrorKind.TIMEOUT)
    assert "no greeting" in outcome.message
    assert not outcome.permanent


async def test_silent_server_with_ssl_times_out() -> None:
    server, script = silent_server()
    with server as srv:
        outcome = await send_one(cfg(srv.port, Security.SSL, timeout=0.3))
        await script.settle()
    failed(outcome, ErrorKind.TIMEOUT)


async def test_421_greeting_is_an_mta_failure() -> None:
    with RawServer(greet_421) as srv:
        outcome = await send_one(cfg(srv.port, timeout=2.0))
    failed(outcome, ErrorKind.GREETING)
    assert outcome.code == 421
    assert "Service not available" in outcome.message
    assert not outcome.permanent


# -- replies to the envelope and the data --------------------------------------


async def test_451_on_rcpt_is_temporary(smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.rcpt_reply = "451 4.3.0 try again later"
    outcome = await send_one(cfg(smtp_server.port))
    failed(outcome, ErrorKind.RECIPIENT_REFUSED)
    assert (outcome.code, outcome.permanent) == (451, False)
    assert outcome.message == "4.3.0 try again later"


async def test_550_on_rcpt_is_permanent(smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.rcpt_reply = "550 5.1.1 no such user"
    outcome = await send_one(cfg(smtp_server.port))
    failed(outcome, ErrorKind.RECIPIENT_REFUSED)
    assert (outcome.code, outcome.permanent) == (550, True)


async def test_relay_denied_says_so(smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.rcpt_reply = "554 5.7.1 Relay access denied"
    outcome = await send_one(cfg(smtp_server.port))
    failed(outcome, ErrorKind.RECIPIENT_REFUSED)
    assert "relay" in outcome.hint


async def test_sender_refused(smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.mail_reply = "553 5.7.1 sender not allowed"
    outcome = await send_one(cfg(smtp_server.port))
    failed(outcome, ErrorKind.SENDER_REFUSED)
    assert outcome.permanent


async def test_data_refused(smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.data_reply = "554 5.6.0 message looks like spam"
    outcome = await send_one(cfg(smtp_server.port))
    failed(outcome, ErrorKind.DATA_REFUSED)
    assert (outcome.code, outcome.permanent) == (554, True)


async def test_530_at_mail_is_an_mta_failure(smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.mail_reply = "530 5.7.0 Authentication required"
    outcome = await send_one(cfg(smtp_server.port))
    failed(outcome, ErrorKind.AUTH_FAILED)
    assert "requires authentication" in outcome.hint


async def test_drop_during_data_is_disconnected_and_the_next_send_reconnects(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.behaviour.drop_in_data = True
    session = SmtpSession(cfg(smtp_server.port), HELO)
    outcome = await session.send("a@example.com", "b@example.com", MSG)
    failed(outcome, ErrorKind.DISCONNECTED)
    assert not outcome.permanent
    assert not session.is_open
    smtp_server.behaviour.drop_in_data = False
    again = await session.send("a@example.com", "b@example.com", MSG)
    await session.close()
    assert again.ok, again
    assert smtp_server.connections_total == 2


async def test_open_reports_failure_and_send_returns_it(smtp_server: SmtpServer) -> None:
    session = SmtpSession(cfg(closed_port()), HELO)
    assert (await session.open()).kind == ErrorKind.REFUSED
    assert not session.is_open
    assert (await session.send("a@example.com", "b@example.com", MSG)).kind == ErrorKind.REFUSED
    await session.close()  # closing a session that never opened is fine


async def test_sessions_in_parallel(smtp_server: SmtpServer) -> None:
    sessions = [SmtpSession(cfg(smtp_server.port), HELO) for _ in range(3)]
    outcomes = await asyncio.gather(
        *(s.send("a@example.com", f"p{i}@example.com", MSG) for i, s in enumerate(sessions))
    )
    await asyncio.gather(*(s.close() for s in sessions))
    assert all(o.ok for o in outcomes)
    assert smtp_server.max_seen_connections == 3
