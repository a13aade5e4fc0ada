"""The probe behind the web page's Test button: a short email from the
administrator straight through one MTA (not the queue), with a transcript an
operator can read and every secret scrubbed from it.

Pure transport: the service that validates the address, finds the sender and
records the MTA's health is ``ertui.mtas.run_test``.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, make_msgid

from ertui.smtp.classify import classify
from ertui.smtp.outcome import ACCEPTED, MtaConfig, Outcome, ProbeResult, Step
from ertui.smtp.session import SmtpSession
from ertui.smtp.steps import StepRecorder
from ertui.smtp.transcript import Transcript
from ertui.timeutil import utcnow

TEST_SUBJECT = "ertui test email"


def build_test_message(
    sender: str, to: str, helo_name: str, config: MtaConfig, *, from_name: str = "", reply_to: str | None = None
) -> bytes:
    """The test email; ``from_name`` (checked by the caller: one line) is encoded
    per RFC 2047 by the email package when it is not ASCII."""
    msg = EmailMessage()
    if from_name:
        local, _, at = sender.rpartition("@")
        msg["From"] = Address(from_name, local, at)  # no parse: the address may be UTF-8
    else:
        msg["From"] = sender
    if reply_to:
        msg["Reply-To"] = reply_to
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


async def send_test(
    config: MtaConfig,
    sender: str,
    to: str,
    helo: str,
    on_step: Callable[[Step], None] | None = None,
    *,
    from_name: str = "",
    reply_to: str | None = None,
) -> ProbeResult:
    """Send the test email from ``sender`` to ``to`` (both already validated)
    through this MTA only; never raises for a network or SMTP failure.
    ``on_step`` sees each step (``ertui.smtp.steps``) as it ends; ``from_name``
    and ``reply_to`` are the sender's identity (``ertui.settings.sender``)."""
    transcript = _recorder(config, on_step)
    failed = await _resolve(config, transcript)
    if failed is not None:
        return ProbeResult(failed, list(transcript.lines), list(transcript.steps))
    data = build_test_message(sender, to, helo, config, from_name=from_name, reply_to=reply_to)
    session = SmtpSession(config, helo, transcript=transcript)
    try:
        outcome = await session.send(sender, to, data)
    finally:
        await session.close()
    if outcome.ok:
        outcome = replace(outcome, message=f"{ACCEPTED}: {outcome.code} {outcome.message}")
    return ProbeResult(_scrubbed(outcome, transcript), list(transcript.lines), list(transcript.steps))


def _recorder(config: MtaConfig, on_step: Callable[[Step], None] | None) -> StepRecorder:
    recorder = StepRecorder(verify_tls=config.verify_tls, on_step=on_step)
    recorder.add_config(config)
    return recorder


async def _resolve(config: MtaConfig, recorder: StepRecorder) -> Outcome | None:
    """The dns step: the host's addresses, or the failure that ends the Test."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(config.timeout):
            infos = await asyncio.get_running_loop().getaddrinfo(config.host, config.port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as exc:
        outcome = classify(exc, "connect", config)
        recorder.dns(False, (time.monotonic() - started) * 1000, outcome.summary)
        recorder.note(f"failed: {outcome.summary}")
        return outcome
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    recorder.dns(True, (time.monotonic() - started) * 1000, ", ".join(addresses[:6]))
    return None


def _scrubbed(outcome: Outcome, transcript: Transcript) -> Outcome:
    return replace(outcome, message=transcript.scrub(outcome.message), hint=transcript.scrub(outcome.hint))


async def check_connection(config: MtaConfig, helo: str, on_step: Callable[[Step], None] | None = None) -> ProbeResult:
    """Connect, TLS, EHLO and AUTH, then QUIT: the relay checked without
    mailing anyone (no MAIL, RCPT or DATA is sent)."""
    transcript = _recorder(config, on_step)
    failed = await _resolve(config, transcript)
    if failed is not None:
        return ProbeResult(failed, list(transcript.lines), list(transcript.steps))
    session = SmtpSession(config, helo, transcript=transcript)
    try:
        outcome = await session.open()
    finally:
        await session.close()
    return ProbeResult(_scrubbed(outcome, transcript), list(transcript.lines), list(transcript.steps))
