"""SMTP transcripts for operators: client and server lines, TLS and
certificate notes, AUTH data and the password redacted (transcripts are
made only when asked for: the Test). ``Redactor`` is the one redaction of an
MTA's secrets, used by the transcript and by the session for every Outcome."""

from __future__ import annotations

import base64
import html
import json
import ssl
from dataclasses import replace
from typing import Any
from urllib.parse import quote, quote_plus

import aiosmtplib
from aiosmtplib.typing import Default

from ertui.mta_rules import Security
from ertui.smtp.outcome import MtaConfig, Outcome

# A secret's base64 is looked for inside other base64 text from this many characters.
MIN_EMBEDDED = 8


class Redactor:
    """The one redaction of an MTA's own secrets from text. A secret is
    redacted in every form a server or a token endpoint may echo it in: raw;
    URL-encoded (a form body), JSON-escaped and HTML-escaped; base64 as AUTH
    LOGIN, AUTH PLAIN (with and without an authorization identity, padded or
    not) and XOAUTH2 send it; and, for a secret long enough, its base64 inside
    any other base64 blob, whatever bytes come before it. Used for transcripts,
    the Test's steps and every server text the transport gives back (an
    Outcome), so an echoed secret reaches no log, store row or screen."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets: list[str] = []
        for secret in secrets or []:
            self.add_secret(secret)

    @classmethod
    def for_config(cls, config: MtaConfig) -> Redactor:
        redactor = cls()
        redactor.add_config(config)
        return redactor

    def add_config(self, config: MtaConfig) -> None:
        """The MTA's secrets: its password and its OAuth2 client secret."""
        for secret in (config.password, config.oauth_secret):
            if secret:
                self.add_secret(secret, config.username)

    def add_secret(self, secret: str, username: str | None = None) -> None:
        if not secret:
            return
        forms = set(self._secrets) | {secret}
        forms |= {
            quote_plus(secret),
            quote(secret, safe=""),
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
            html.escape(secret),  # an HTML error page that quotes the request
            html.escape(secret, quote=False),
        }
        raw = secret.encode("utf-8")
        user = (username or "").encode("utf-8")
        xoauth2 = b"user=" + user + b"\x01auth=Bearer " + raw + b"\x01\x01"
        for blob in (raw, b"\0" + user + b"\0" + raw, user + b"\0" + user + b"\0" + raw, xoauth2):
            forms.add(base64.b64encode(blob).decode("ascii"))
            forms.add(base64.b64encode(blob).decode("ascii").rstrip("="))
        forms |= _embedded_base64(raw)
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


def _embedded_base64(raw: bytes) -> set[str]:
    """The base64 characters that ``raw`` alone decides, at each of the three
    offsets it can have inside a longer blob: found in any base64 text that
    carries it, whatever comes before or after. Only for a secret long enough
    that these are not a few characters that could match by chance."""
    cores: set[str] = set()
    for pad in range(3):
        encoded = base64.b64encode(bytes(pad) + raw).decode("ascii")
        first = -(-pad * 8 // 6)  # the first character with no bit of the padding
        last = (pad + len(raw)) * 8 // 6  # past the last one with no bit of what follows
        if last - first >= MIN_EMBEDDED:
            cores.add(encoded[first:last])
    return cores


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
