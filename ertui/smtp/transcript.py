"""SMTP transcripts for operators: client and server lines, TLS and
certificate notes, AUTH data and the password redacted (transcripts are
made only when asked for: the Test). ``Redactor`` is the one redaction of an
MTA's secrets, used by the transcript and by the session for every Outcome."""

from __future__ import annotations

import base64
import ssl
from dataclasses import replace
from typing import Any

import aiosmtplib
from aiosmtplib.typing import Default

from ertui.mta_rules import Security
from ertui.smtp.outcome import MtaConfig, Outcome


class Redactor:
    """The one redaction of an MTA's own secrets from text: the password in
    raw form and in its base64 forms (AUTH LOGIN's, AUTH PLAIN's with and
    without an authorization identity, padded or not). Used for transcripts
    and for every server text the transport gives back (an Outcome), so an
    echoed password reaches no log, store row or screen."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets: list[str] = []
        for secret in secrets or []:
            self.add_secret(secret)

    @classmethod
    def for_config(cls, config: MtaConfig) -> Redactor:
        redactor = cls()
        for secret in (config.password, config.oauth_secret):
            if secret:
                redactor.add_secret(secret, config.username)
        return redactor

    def add_secret(self, secret: str, username: str | None = None) -> None:
        if not secret:
            return
        forms = set(self._secrets) | {secret}
        raw = secret.encode("utf-8")
        user = (username or "").encode("utf-8")
        for blob in (raw, b"\0" + user + b"\0" + raw, user + b"\0" + user + b"\0" + raw):
            forms.add(base64.b64encode(blob).decode("ascii"))
            forms.add(base64.b64encode(blob).decode("ascii").rstrip("="))
        self._secrets = sorted(forms, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "<redacted>")
        return text

    def outcome(self, outcome: Outcome) -> Outcome:
        """``outcome`` with every secret redacted from its text and hint."""
        if not self._secrets:
            return outcome
        message, hint = self.scrub(outcome.message), self.scrub(outcome.hint)
        if message == outcome.message and hint == outcome.hint:
            return outcome
        return replace(outcome, message=message, hint=hint)


class Transcript(Redactor):
    """The lines of an SMTP dialogue for an operator: ``C:`` client, ``S:``
    server, ``*`` notes (TLS, certificate). Every line goes through
    :meth:`scrub`, which removes the given secrets in raw and base64 form."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__(secrets)
        self.lines: list[str] = []

    def note(self, text: str) -> None:
        self.lines.append(self.scrub(f"* {text}"))

    def client(self, text: str) -> None:
        self.lines.append(self.scrub(f"C: {text}"))

    def server(self, code: int, message: str) -> None:
        parts = message.split("\n") if message else [""]
        for i, part in enumerate(parts):
            sep = "-" if i < len(parts) - 1 else " "
            self.lines.append(self.scrub(f"S: {code}{sep}{part}".rstrip()))


class TracedSMTP(aiosmtplib.SMTP):
    """aiosmtplib.SMTP that writes each command and reply to a transcript,
    with AUTH data redacted. Only used when a transcript is asked for, so the
    worker's hot path runs the plain class."""

    def __init__(self, transcript: Transcript, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transcript = transcript
        self._auth_continues = False

    def _render(self, args: tuple[bytes, ...]) -> str:
        if self._auth_continues:
            return "<redacted>"
        if args and args[0].upper() == b"AUTH":
            shown = b" ".join(args[:2]).decode("ascii", "replace")
            return shown + (" <redacted>" if len(args) > 2 else "")
        return b" ".join(args).decode("utf-8", "replace")

    async def execute_command(
        self,
        *args: bytes,
        timeout: float | Default | None = Default.token,  # noqa: ASYNC109
    ) -> aiosmtplib.SMTPResponse:
        self.transcript.client(self._render(args))
        is_auth = bool(args) and (args[0].upper() == b"AUTH" or self._auth_continues)
        response = await super().execute_command(*args, timeout=timeout)
        self.transcript.server(response.code, response.message)
        self._auth_continues = is_auth and response.code == 334
        return response


def tls_notes(smtp: aiosmtplib.SMTP, transcript: Transcript) -> None:
    for line in describe_tls(smtp.get_transport_info("ssl_object")):
        transcript.note(line)


def describe_tls(ssl_object: ssl.SSLObject | None) -> list[str]:
    """Protocol version, cipher and the server certificate's subject and expiry."""
    if ssl_object is None:
        return []
    lines: list[str] = []
    cipher = ssl_object.cipher()
    version = ssl_object.version() or "TLS"
    if cipher is not None:
        lines.append(f"TLS established: {version}, cipher {cipher[0]} ({cipher[2]} bits)")
    else:
        lines.append(f"TLS established: {version}")
    der = ssl_object.getpeercert(binary_form=True)
    if der:
        from cryptography import x509

        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            lines.append("server certificate: cannot be parsed")
            return lines
        subject = cert.subject.rfc4514_string() or "(empty subject)"
        issuer = cert.issuer.rfc4514_string() or "(empty issuer)"
        not_after = cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M:%S UTC")
        lines.append(f"server certificate: subject {subject}")
        lines.append(f"server certificate: issuer {issuer}, valid until (notAfter) {not_after}")
    return lines


def connecting(cfg: MtaConfig) -> str:
    mode = {Security.SSL: "SSL (implicit TLS)", Security.STARTTLS: "STARTTLS"}
    verify = "" if cfg.security == Security.NONE else f", certificate verification {'on' if cfg.verify_tls else 'off'}"
    return (
        f"connecting to {cfg.host} port {cfg.port}, {mode.get(cfg.security, 'no TLS')}"
        f"{verify}, timeout {cfg.timeout:g} s"
    )
