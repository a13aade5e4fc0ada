"""The Test of an MTA: a short email from the administrator straight through
one MTA (not the queue), with a transcript an operator can read."""

from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, make_msgid

from sqlalchemy.engine import Engine

from ertui import mtas, settings, validate
from ertui.mtas import MtaConfig
from ertui.smtp import ACCEPTED, Outcome, SmtpSession, TestResult
from ertui.smtp_transcript import Transcript
from ertui.timeutil import utcnow
from ertui.vault import Vault

TEST_SUBJECT = "ertui test email"


def build_test_message(sender: str, to: str, helo_name: str, config: MtaConfig) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = TEST_SUBJECT
    msg["Date"] = format_datetime(utcnow())
    domain = helo_name if helo_name and " " not in helo_name else None
    msg["Message-ID"] = make_msgid("ertui-test", domain=domain)
    msg.set_content(
        "This is a test email sent by ertui to check an MTA's settings.\n\n"
        f"MTA: {config.label} ({config.host} port {config.port}, "
        f"security {config.security.value})\n"
        f"Sent from: {helo_name}\n\n"
        "If you can read this, the MTA accepted the mail and delivered it.\n"
    )
    ascii_only = sender.isascii() and to.isascii()
    return msg.as_bytes(policy=SMTP if ascii_only else SMTPUTF8)


async def run_test_send(engine: Engine, config: MtaConfig, to: str, *, vault: Vault | None = None) -> TestResult:
    """Validate, refuse without an admin address, send, record the MTA's health.

    Raises ValidationError (field "To") for a bad address and
    settings.NoAdminAddressError — both before connecting.
    """
    address = validate.email(to, field="To")
    sender = settings.require_admin_email(engine)
    if config.use_auth and config.password is None and config.id is not None:
        config = mtas.config_for(mtas.get(engine, config.id), vault)
    helo = settings.master_host(engine).name
    transcript = Transcript()
    if config.password:
        transcript.add_secret(config.password, config.username)
    data = build_test_message(sender, address, helo, config)
    session = SmtpSession(config, helo, transcript=transcript)
    try:
        outcome = await session.send(sender, address, data)
    finally:
        await session.close()
    if outcome.ok:
        outcome = replace(outcome, message=f"{ACCEPTED}: {outcome.code} {outcome.message}")
    outcome = _scrubbed(outcome, transcript)
    if config.id is not None:
        if outcome.ok:
            mtas.record_success(engine, config.id)
        else:
            mtas.record_failure(engine, config.id, outcome.summary)
    return TestResult(outcome=outcome, transcript=list(transcript.lines))


def _scrubbed(outcome: Outcome, transcript: Transcript) -> Outcome:
    return replace(outcome, message=transcript.scrub(outcome.message), hint=transcript.scrub(outcome.hint))
