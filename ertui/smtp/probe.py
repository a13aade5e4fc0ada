"""The probe behind the web page's Test button: a short email from the
administrator straight through one MTA (not the queue), with a transcript an
operator can read and every secret scrubbed from it.

Pure transport: the service that validates the address, finds the sender and
records the MTA's health is ``ertui.mtas.run_test``.
"""

from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, make_msgid

from ertui.smtp.outcome import ACCEPTED, MtaConfig, Outcome, ProbeResult
from ertui.smtp.session import SmtpSession
from ertui.smtp.transcript import Transcript
from ertui.timeutil import utcnow

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


async def send_test(config: MtaConfig, sender: str, to: str, helo: str) -> ProbeResult:
    """Send the test email from ``sender`` to ``to`` (both already validated)
    through this MTA only; never raises for a network or SMTP failure."""
    transcript = Transcript()
    if config.password:
        transcript.add_secret(config.password, config.username)
    data = build_test_message(sender, to, helo, config)
    session = SmtpSession(config, helo, transcript=transcript)
    try:
        outcome = await session.send(sender, to, data)
    finally:
        await session.close()
    if outcome.ok:
        outcome = replace(outcome, message=f"{ACCEPTED}: {outcome.code} {outcome.message}")
    return ProbeResult(outcome=_scrubbed(outcome, transcript), transcript=list(transcript.lines))


def _scrubbed(outcome: Outcome, transcript: Transcript) -> Outcome:
    return replace(outcome, message=transcript.scrub(outcome.message), hint=transcript.scrub(outcome.hint))


async def check_connection(config: MtaConfig, helo: str) -> ProbeResult:
    """Connect, TLS, EHLO and AUTH, then QUIT: the relay checked without
    mailing anyone (no MAIL, RCPT or DATA is sent)."""
    transcript = Transcript()
    if config.password:
        transcript.add_secret(config.password, config.username)
    session = SmtpSession(config, helo, transcript=transcript)
    try:
        outcome = await session.open()
    finally:
        await session.close()
    return ProbeResult(outcome=_scrubbed(outcome, transcript), transcript=list(transcript.lines))
