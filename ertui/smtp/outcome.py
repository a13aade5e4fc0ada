"""The leaf of the SMTP package: what a session is given (the connection
settings) and what it gives back (an Outcome of a kind from a closed set), and
the exceptions the transport raises for the classifier.

It imports nothing of ertui but the security modes, so the transport, the
classifier, the transcript, the worker and both front ends can share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ertui.mta_rules import DEFAULT_TIMEOUT, AuthMechanism, Security, host_port


@dataclass(frozen=True)
class MtaConfig:
    """Everything needed to open an SMTP session, saved or not yet saved."""

    host: str
    port: int
    security: Security = Security.NONE
    use_auth: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify_tls: bool = True
    timeout: float = DEFAULT_TIMEOUT
    id: int | None = None
    description: str = ""
    # SMTP PIPELINING (RFC 2920) when the server offers it; off for servers
    # that offer it and break.
    pipelining: bool = True
    # The name given in EHLO; None: the session's default (the master host name).
    ehlo_name: str | None = None
    auth_mechanism: AuthMechanism = AuthMechanism.AUTO
    # XOAUTH2: the client-credentials grant of ``ertui.smtp.oauth``.
    oauth_token_url: str | None = None
    oauth_client_id: str | None = None
    oauth_scope: str | None = None
    oauth_secret: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return self.description or host_port(self.host, self.port)


class ErrorKind(StrEnum):
    """Why a session or a send failed. Only MESSAGE_KINDS are the message's
    fault; all the others are the MTA's.

    dns: the host name does not resolve. refused: nothing listens, or the
    host cannot be reached. timeout: no answer within the MTA's timeout.
    tls_handshake: TLS could not be negotiated (e.g. SSL on a plain port).
    tls_certificate: the certificate failed verification. starttls_unsupported:
    STARTTLS required but not offered or refused. starttls_required: the
    server demands TLS first (``530 5.7.0 Must issue a STARTTLS command
    first``) while this MTA is set up without it. greeting: a 4xx/5xx greeting
    (421 included). auth_unsupported / auth_failed: AUTH not possible here /
    rejected (535), or the server demands AUTH (530). sender_refused,
    recipient_refused, data_refused: replies to MAIL, RCPT, DATA.
    disconnected: the server closed the session (or replied 421 later).
    protocol: anything else, e.g. a port that does not speak SMTP, or an SSL
    port used without SSL. oauth_token: the OAuth2 token endpoint refused the
    client-credentials grant (or could not be reached), so no XOAUTH2 was tried.
    """

    DNS = "dns"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    TLS_HANDSHAKE = "tls_handshake"
    TLS_CERTIFICATE = "tls_certificate"
    STARTTLS_UNSUPPORTED = "starttls_unsupported"
    STARTTLS_REQUIRED = "starttls_required"
    GREETING = "greeting"  # the server greeted with 4xx/5xx (e.g. 421)
    AUTH_UNSUPPORTED = "auth_unsupported"
    AUTH_FAILED = "auth_failed"
    SENDER_REFUSED = "sender_refused"
    RECIPIENT_REFUSED = "recipient_refused"
    DATA_REFUSED = "data_refused"
    DISCONNECTED = "disconnected"
    PROTOCOL = "protocol"
    OAUTH_TOKEN = "oauth_token"  # the OAuth2 token endpoint gave no access token


# Failures of the message itself; every other kind is a failure of the MTA.
MESSAGE_KINDS = frozenset({ErrorKind.SENDER_REFUSED, ErrorKind.RECIPIENT_REFUSED, ErrorKind.DATA_REFUSED})

ACCEPTED = "Email server accepted mail for delivery"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    kind: ErrorKind | None = None
    permanent: bool = False
    code: int | None = None
    message: str = ""  # the server's reply text (success) or the error text
    hint: str = ""
    # A fault of the MTA's settings here or at the server (credentials, TLS
    # mode, certificate): trying again without a change will not help.
    configuration: bool = False

    @property
    def nature(self) -> str:
        """ "permanent", "configuration" or "temporary": the one label of a
        failure for an operator (the Test, ``mta test``)."""
        if self.configuration:
            return "configuration"
        return "permanent" if self.permanent else "temporary"

    @property
    def mta_failure(self) -> bool:
        return not self.ok and self.kind not in MESSAGE_KINDS

    @property
    def summary(self) -> str:
        """One line for a status column or ``last_error``: kind, code, text."""
        if self.ok:
            return self.message
        code = f" {self.code}" if self.code is not None else ""
        kind = self.kind.value if self.kind is not None else "error"
        return f"{kind}{code}: {self.message}".strip()


@dataclass(frozen=True)
class Step:
    """One step of a Test or probe (``ertui.smtp.steps``): dns, tcp, tls, ehlo,
    starttls, auth, mail, rcpt, data or quit; ``ms`` None when it has no time of
    its own (TLS comes with the connection or with STARTTLS)."""

    name: str
    ok: bool
    ms: float | None
    detail: str
    warning: str = ""


@dataclass
class ProbeResult:
    """What the Test (the probe) found: its outcome, the transcript and the steps."""

    outcome: Outcome
    transcript: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    # What the operator should know whatever the outcome (e.g. AUTH in clear text).
    warnings: list[str] = field(default_factory=list)


class SpeaksTlsError(Exception):
    """The port completes a TLS handshake but was used without SSL."""


class AuthUnsupportedError(Exception):
    """The server offers no AUTH, or no method aiosmtplib speaks."""


class SmtpUtf8UnsupportedError(Exception):
    """An address is not ASCII and the server does not offer SMTPUTF8."""


class OutOfStepError(Exception):
    """The server's replies do not pair with the commands sent: more replies
    than commands, or a reply no command in its place can have (a 354 to MAIL,
    a 250 to DATA). Nothing it said after that can be trusted
    (``ertui.smtp.pipeline``)."""


OAUTH_TOKEN_HINT = (
    "check the Token URL, the Client ID, the Client secret and the Scope "
    "(Microsoft 365: https://outlook.office365.com/.default), and that the application "
    "may send mail by SMTP (SMTP.SendAsApp)"
)

XOAUTH2_REJECTED_HINT = (
    "the SMTP server refused the OAuth2 access token (the endpoint issued it): check the "
    "Username (the mailbox), the Scope, and that the application may send as that mailbox"
)


class OAuthTokenError(Exception):
    """The OAuth2 token endpoint gave no access token (``ertui.smtp.oauth``):
    ``text`` says why (the endpoint's own error), ``hint`` what to check."""

    def __init__(self, text: str, hint: str = OAUTH_TOKEN_HINT) -> None:
        super().__init__(text)
        self.text = text
        self.hint = hint
