"""SMTP transport (aiosmtplib), outcome classification and the test send.

INTERFACE CONTRACT (the queue worker and the console code against this; the
bodies are being written now):

- ``ErrorKind``: the closed set of failure kinds.
- ``Outcome``: the result of opening a session or sending one message.
  ``outcome.mta_failure`` is True when the MTA itself failed (connection,
  TLS, greeting, authentication, disconnect) — the worker then tries another
  MTA — and False when the *message* was refused (MAIL/RCPT/DATA replies).
- ``SmtpSession(config, helo_name)``: ``await open()`` -> Outcome (connect,
  TLS, EHLO, AUTH); ``await send(sender, recipient, data)`` -> Outcome (RSET
  between messages is handled inside); ``await close()``; ``is_open``.
  ``send`` on a session that is not open opens it first.
- ``test_send(engine, config, to)`` -> TestResult: the Test button.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ertui.mtas import MtaConfig


class ErrorKind(StrEnum):
    DNS = "dns"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    TLS_HANDSHAKE = "tls_handshake"
    TLS_CERTIFICATE = "tls_certificate"
    STARTTLS_UNSUPPORTED = "starttls_unsupported"
    GREETING = "greeting"  # the server greeted with 4xx/5xx (e.g. 421)
    AUTH_UNSUPPORTED = "auth_unsupported"
    AUTH_FAILED = "auth_failed"
    SENDER_REFUSED = "sender_refused"
    RECIPIENT_REFUSED = "recipient_refused"
    DATA_REFUSED = "data_refused"
    DISCONNECTED = "disconnected"
    PROTOCOL = "protocol"


# Failures of the message itself; every other kind is a failure of the MTA.
MESSAGE_KINDS = frozenset(
    {ErrorKind.SENDER_REFUSED, ErrorKind.RECIPIENT_REFUSED, ErrorKind.DATA_REFUSED}
)

ACCEPTED = "Email server accepted mail for delivery"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    kind: ErrorKind | None = None
    permanent: bool = False
    code: int | None = None
    message: str = ""  # the server's reply text (success) or the error text
    hint: str = ""

    @property
    def mta_failure(self) -> bool:
        return not self.ok and self.kind not in MESSAGE_KINDS


@dataclass
class TestResult:
    outcome: Outcome
    transcript: list[str] = field(default_factory=list)

    __test__ = False  # not a pytest class


__all__ = ["ACCEPTED", "ErrorKind", "MtaConfig", "Outcome", "TestResult"]
