"""The Test as steps against real servers: plain, SSL, STARTTLS with a login,
and failing ones — the step that fails is the one reported, later steps are not
reached; the probe stops after AUTH and sends no DATA."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ertui.mta_rules import Security
from ertui.smtp.outcome import MtaConfig, ProbeResult, Step
from ertui.smtp.probe import check_connection, send_test
from ertui.smtp.steps import _expiry_warning
from tests.smtpd import SmtpServer, closed_port

SECRET = "St3ps-secret"


def cfg(port: int, security: Security = Security.NONE, **kw: object) -> MtaConfig:
    kw.setdefault("timeout", 5.0)
    return MtaConfig(host="127.0.0.1", port=port, security=security, **kw)  # type: ignore[arg-type]


def test_mail(config: MtaConfig, seen: list[Step] | None = None) -> ProbeResult:
    return asyncio.run(send_test(config, "admin@example.org", "ops@example.net", "mail.example.org",
                                 seen.append if seen is not None else None))  # fmt: skip


test_mail.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def names(result: ProbeResult) -> list[tuple[str, bool]]:
    return [(s.name, s.ok) for s in result.steps]


@pytest.fixture
def login_server(server_ssl_ctx: ssl.SSLContext) -> Iterator[SmtpServer]:
    with SmtpServer("starttls", server_ctx=server_ssl_ctx, auth={"mailer": SECRET}) as srv:
        yield srv


def test_plain_server_every_step_live_and_in_order(smtp_server: SmtpServer) -> None:
    seen: list[Step] = []
    result = test_mail(cfg(smtp_server.port), seen)
    assert result.outcome.ok
    expected = ["dns", "tcp", "ehlo", "mail", "rcpt", "data", "quit"]
    assert [n for n, ok in names(result)] == expected and all(ok for _, ok in names(result))
    assert seen == result.steps  # each reported as it ended
    by = {s.name: s for s in result.steps}
    assert by["dns"].detail == "127.0.0.1" and by["tcp"].detail.startswith("greeting 220")
    assert by["ehlo"].detail.startswith("mx.test.local; extensions:") and "SIZE" in by["ehlo"].detail
    assert all(s.ms is not None and s.ms >= 0 for s in result.steps)


def test_ssl_reports_the_handshake(ssl_server: SmtpServer, trust_ca: Path) -> None:
    result = test_mail(cfg(ssl_server.port, Security.SSL))
    assert result.outcome.ok, result.outcome
    assert [n for n, _ in names(result)][:4] == ["dns", "tcp", "tls", "ehlo"]
    tls = next(s for s in result.steps if s.name == "tls")
    assert tls.ok and "TLS established: TLSv1." in tls.detail and "subject" in tls.detail
    assert "verified: yes" in tls.detail and not tls.warning


def test_starttls_with_login(login_server: SmtpServer, trust_ca: Path) -> None:
    config = cfg(login_server.port, Security.STARTTLS, use_auth=True, username="mailer", password=SECRET)
    result = test_mail(config)
    assert result.outcome.ok, result.outcome
    assert [n for n, _ in names(result)] == ["dns", "tcp", "ehlo", "starttls", "tls", "ehlo", "auth", "mail", "rcpt",
                                             "data", "quit"]  # fmt: skip
    assert "STARTTLS" in result.steps[2].detail and "AUTH" in result.steps[5].detail
    assert all(SECRET not in s.detail for s in result.steps)


@pytest.mark.parametrize(
    ("setup", "failing"),
    [
        ("refused", "tcp"),
        ("rcpt", "rcpt"),
        ("mail", "mail"),
        ("data", "data"),
        ("password", "auth"),
        ("untrusted", "tls"),
        ("dns", "dns"),
    ],
)
def test_the_step_that_fails_is_the_one_reported(
    setup: str, failing: str, smtp_server: SmtpServer, login_server: SmtpServer
) -> None:
    config = cfg(smtp_server.port)
    if setup == "refused":
        config = cfg(closed_port())
    elif setup == "rcpt":
        smtp_server.behaviour.rcpt_reply = "550 5.1.1 no such user"
    elif setup == "mail":
        smtp_server.behaviour.mail_reply = "553 5.7.1 sender not allowed"
    elif setup == "data":
        smtp_server.behaviour.data_reply = "554 5.7.1 rejected as spam"
    elif setup == "password":  # trust_ca is not used: verification off, the login still fails
        config = cfg(login_server.port, Security.STARTTLS, use_auth=True, username="mailer", password="wrong",
                     verify_tls=False)  # fmt: skip
    elif setup == "untrusted":
        config = cfg(login_server.port, Security.STARTTLS)
    elif setup == "dns":
        config = MtaConfig(host="no-such-host.invalid", port=25, timeout=5.0)
    result = test_mail(config)
    assert not result.outcome.ok
    failed = [s.name for s in result.steps if not s.ok]
    assert failed == [failing], names(result)
    assert result.steps[-1].name in (failing, "quit")  # nothing after the failure but a polite QUIT


def test_probe_stops_after_auth_and_sends_no_data(login_server: SmtpServer, trust_ca: Path) -> None:
    config = cfg(login_server.port, Security.STARTTLS, use_auth=True, username="mailer", password=SECRET)
    result = asyncio.run(check_connection(config, "mail.example.org"))
    assert result.outcome.ok
    assert [n for n, _ in names(result)] == ["dns", "tcp", "ehlo", "starttls", "tls", "ehlo", "auth", "quit"]
    assert login_server.received == [] and not any(line.startswith("C: DATA") for line in result.transcript)


def test_a_certificate_close_to_its_end_is_a_warning() -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    soon = (now + timedelta(days=5)).strftime("%Y-%m-%d %H:%M:%S")
    later = (now + timedelta(days=90)).strftime("%Y-%m-%d %H:%M:%S")
    line = "server certificate: issuer CN=x, valid until (notAfter) {} UTC"
    assert "expires in 5 day(s)" in _expiry_warning([line.format(soon)], now)
    assert _expiry_warning([line.format(later)], now) == ""
