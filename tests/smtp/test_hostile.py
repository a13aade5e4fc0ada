"""The transport against hostile servers: a password echoed back never leaves
the session (every Outcome is redacted), and replies that demand TLS, refuse
credentials or a certificate are told apart from temporary trouble."""

from __future__ import annotations

import base64
import ssl

import aiosmtplib
import pytest

from ertui.mta_rules import Security
from ertui.smtp.classify import classify
from ertui.smtp.outcome import ErrorKind, MtaConfig
from ertui.smtp.session import SmtpSession
from ertui.smtp.transcript import Redactor, Transcript
from tests.smtp.hostile import ECHO_535, PASSWORD, SECRET_FORMS, USER, hostile_server

HELO = "ertui.example.com"
MSG = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n"


def cfg(port: int, **kw: object) -> MtaConfig:
    kw.setdefault("timeout", 5.0)
    return MtaConfig(host="127.0.0.1", port=port, **kw)  # type: ignore[arg-type]


def auth_cfg(port: int) -> MtaConfig:
    return cfg(port, use_auth=True, username=USER, password=PASSWORD)


def leaks(text: str) -> list[str]:
    return [form for form in SECRET_FORMS if form in text]


# -- item 6: the MTA's own secrets are redacted from every server text -----------


@pytest.mark.parametrize(
    "replies",
    [
        {"AUTH": ECHO_535},  # the issue's server: base64 and clear text echoed to AUTH
        {"AUTH": "454 4.7.0 try later, " + PASSWORD + "\r\n"},  # a temporary refusal
        {"MAIL": "550 5.7.1 " + base64.b64encode(PASSWORD.encode()).decode() + " not allowed\r\n"},
        {"RCPT": f"451 4.3.0 greylisted {PASSWORD}\r\n"},
        {"DATA": f"554 5.6.0 rejected, your password {PASSWORD} is weak\r\n"},
        {"DATA": f"250 2.0.0 queued as {PASSWORD}\r\n"},  # stored as the server reply
    ],
    ids=["auth-535-echo", "auth-454", "mail-550-b64", "rcpt-451", "data-554", "data-250"],
)
async def test_an_echoed_password_is_in_no_outcome(replies: dict[str, str]) -> None:
    with hostile_server(replies) as srv:
        session = SmtpSession(auth_cfg(srv.port), HELO)
        try:
            outcome = await session.send("a@example.com", "b@example.com", MSG)
        finally:
            await session.close()
    assert outcome.message and "<redacted>" in outcome.message
    assert leaks(outcome.message) == [] and leaks(outcome.hint) == [] and leaks(outcome.summary) == []


async def test_the_issue_example_is_auth_failed_and_still_readable() -> None:
    with hostile_server({"AUTH": ECHO_535}) as srv:
        async with SmtpSession(auth_cfg(srv.port), HELO) as session:
            outcome = await session.open()
    assert (outcome.kind, outcome.code) == (ErrorKind.AUTH_FAILED, 535)
    assert outcome.message.startswith("5.7.8 bad credentials: you sent <redacted> which is |alice|<redacted>")


def test_the_transcript_and_the_session_share_one_redaction() -> None:
    assert issubclass(Transcript, Redactor)
    r = Redactor.for_config(MtaConfig("h", 25, use_auth=True, username=USER, password=PASSWORD))
    login_user_then_password = base64.b64encode(PASSWORD.encode()).decode()
    with_authzid = base64.b64encode(f"{USER}\0{USER}\0{PASSWORD}".encode()).decode()
    for form in (PASSWORD, login_user_then_password, with_authzid, with_authzid.rstrip("=")):
        assert r.scrub(f"x {form} y") == "x <redacted> y"
    assert Redactor.for_config(MtaConfig("h", 25)).scrub(f"x {PASSWORD} y") == f"x {PASSWORD} y"


# -- item 10: the right diagnosis -----------------------------------------------


async def test_starttls_demanded_is_its_own_kind_with_the_right_hint() -> None:
    """Gmail's, Postfix's and Exchange's words, to MAIL on a plain connection."""
    with hostile_server({"MAIL": "530 5.7.0 Must issue a STARTTLS command first.\r\n"}) as srv:
        async with SmtpSession(cfg(srv.port), HELO) as session:
            outcome = await session.send("a@example.com", "b@example.com", MSG)
    assert (outcome.kind, outcome.code) == (ErrorKind.STARTTLS_REQUIRED, 530)
    assert "turn on STARTTLS" in outcome.hint
    assert "User/Pass" not in outcome.hint
    assert outcome.mta_failure and outcome.nature == "configuration"


@pytest.mark.parametrize(
    ("code", "text", "stage"),
    [
        (530, "5.7.0 Must issue a STARTTLS command first", "mail"),
        (530, "5.7.0 Must issue a STARTTLS command first", "rcpt"),
        (530, "5.7.0 Must issue a STARTTLS command first", "auth"),
        (530, "5.7.0 Must issue a STARTTLS command first", "data"),
        (554, "5.7.10 Encryption needed", "mail"),
        (538, "5.7.11 Encryption required for requested authentication mechanism", "auth"),
        (523, "5.7.10 Encryption Needed", "auth"),
        (550, "5.7.1 TLS required for this recipient", "rcpt"),
        (451, "4.7.0 TLS is required, try again with STARTTLS", "mail"),
    ],
)
def test_every_demand_for_tls_is_starttls_required(code: int, text: str, stage: str) -> None:
    exc: BaseException
    if stage == "auth":
        exc = aiosmtplib.SMTPAuthenticationError(code, text)
    elif stage == "mail":
        exc = aiosmtplib.SMTPSenderRefused(code, text, "a@example.com")
    elif stage == "rcpt":
        exc = aiosmtplib.SMTPRecipientRefused(code, text, "b@example.com")
    else:
        exc = aiosmtplib.SMTPDataError(code, text)
    o = classify(exc, stage, cfg(25))
    assert (o.kind, o.code, o.nature) == (ErrorKind.STARTTLS_REQUIRED, code, "configuration")
    assert "turn on STARTTLS" in o.hint and o.mta_failure


@pytest.mark.parametrize(
    ("code", "text", "stage", "kind"),
    [
        (530, "5.7.0 Authentication required", "mail", ErrorKind.AUTH_FAILED),
        (550, "5.1.1 no such user (TLS session ok)", "rcpt", ErrorKind.RECIPIENT_REFUSED),
        (454, "4.7.0 TLS not available due to temporary reason", "starttls", ErrorKind.STARTTLS_UNSUPPORTED),
    ],
)
def test_what_is_not_a_demand_for_tls_keeps_its_kind(code: int, text: str, stage: str, kind: ErrorKind) -> None:
    exc = aiosmtplib.SMTPResponseException(code, text)
    assert classify(exc, stage, cfg(25)).kind == kind


def _cert_error() -> ssl.SSLCertVerificationError:
    err = ssl.SSLCertVerificationError(1, "certificate verify failed")
    err.verify_message = "self-signed certificate"
    return err


@pytest.mark.parametrize(
    ("exc", "stage", "nature"),
    [
        (aiosmtplib.SMTPAuthenticationError(535, "5.7.8 bad credentials"), "auth", "configuration"),
        (aiosmtplib.SMTPAuthenticationError(534, "5.7.9 use an app password"), "auth", "configuration"),
        (aiosmtplib.SMTPAuthenticationError(504, "5.5.4 unrecognised mechanism"), "auth", "configuration"),
        (aiosmtplib.SMTPAuthenticationError(454, "4.7.0 temporary auth failure"), "auth", "temporary"),
        (_cert_error(), "connect", "configuration"),
        (_cert_error(), "starttls", "configuration"),
        (aiosmtplib.SMTPRecipientRefused(550, "5.1.1 unknown", "b@x.org"), "rcpt", "permanent"),
        (aiosmtplib.SMTPRecipientRefused(451, "4.3.0 greylisted", "b@x.org"), "rcpt", "temporary"),
        (ConnectionRefusedError(111, "refused"), "connect", "temporary"),
    ],
    ids=["535", "534", "504", "454", "cert-ssl", "cert-starttls", "550", "451", "refused"],
)
def test_auth_and_certificate_failures_are_not_called_temporary(exc: BaseException, stage: str, nature: str) -> None:
    assert classify(exc, stage, cfg(25, security=Security.STARTTLS)).nature == nature
