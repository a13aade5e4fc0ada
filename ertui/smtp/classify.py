"""Every failure of an SMTP session as an Outcome: a kind from the closed set,
the SMTP code and text when there is one, permanent or temporary, and a
one-line hint that tells the operator what to try. Called only on the
failure path, so it may take its time to be precise.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from typing import TypeVar
from urllib.parse import urlsplit

import aiosmtplib

from ertui.mta_rules import AuthMechanism, Security
from ertui.smtp.outcome import (
    XOAUTH2_REJECTED_HINT,
    AuthUnsupportedError,
    ErrorKind,
    MtaConfig,
    OAuthTokenError,
    Outcome,
    OutOfStepError,
    SmtpUtf8UnsupportedError,
    SpeaksTlsError,
)

K = ErrorKind
E = TypeVar("E", bound=BaseException)

NO_GREETING = "the server accepted the connection but sent no greeting"
NOT_SSL_HINT = "the server does not speak SSL on this port; try STARTTLS on 587 or turn SSL off"
IS_SSL_HINT = (
    "this port speaks SSL (implicit TLS); turn SSL on (usually port 465), or use the STARTTLS or plain port (587 or 25)"
)
AUTH_REJECTED_HINT = "the server rejected the username or password"

# OpenSSL reasons seen when the peer answers a ClientHello with plain text.
_NOT_TLS_REASONS = (
    "WRONG_VERSION_NUMBER",
    "RECORD_LAYER_FAILURE",
    "UNKNOWN_PROTOCOL",
    "PACKET_LENGTH_TOO_LONG",
    "HTTP_REQUEST",
    "RECORD_TOO_LONG",
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 12:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _find(exc: BaseException, kind: type[E]) -> E | None:
    for item in _chain(exc):
        if isinstance(item, kind):
            return item
    return None


def _where(config: MtaConfig | None) -> str:
    return f"{config.host} port {config.port}" if config else "the server"


def _fail(
    kind: ErrorKind,
    message: str,
    hint: str,
    code: int | None = None,
    permanent: bool = False,
    *,
    configuration: bool = False,
) -> Outcome:
    return Outcome(
        ok=False, kind=kind, permanent=permanent, code=code, message=message, hint=hint, configuration=configuration
    )


# What servers say when they take a command only over TLS (Gmail, Postfix,
# Exchange: "530 5.7.0 Must issue a STARTTLS command first"; RFC 4954's 523
# and 538 "encryption required"; RFC 3207's 530 "must issue STARTTLS").
_TLS_DEMANDS: tuple[str, ...] = ("starttls", "tls required", "requires tls", "tls is required", "must use tls")
_TLS_DEMANDS += ("tls first", "encryption required", "encryption needed", "requires encryption", "5.7.10", "5.7.11")


def wants_tls(code: int, text: str) -> bool:
    """Whether a 4xx/5xx reply says the server takes the command only over TLS."""
    if code in (523, 538):
        return True
    lowered = text.lower()
    return code >= 400 and any(words in lowered for words in _TLS_DEMANDS)


def starttls_required(code: int, text: str, config: MtaConfig | None) -> Outcome:
    if config is None or config.security == Security.NONE:
        hint = "the server takes mail only over TLS: turn on STARTTLS (usually port 587), or SSL on 465"
    else:
        hint = "the server still asks for TLS although this MTA uses it: turn on STARTTLS, or check the port"
    return _fail(K.STARTTLS_REQUIRED, text, hint, code, configuration=True)


def classify(exc: BaseException, stage: str, config: MtaConfig | None) -> Outcome:
    """See ertui.smtp.classify. Order matters: an ssl certificate error is also
    a ValueError, an ssl error an OSError, a connect timeout a ConnectionError."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        exc = exc.recipients[0]
    reply = _find(exc, aiosmtplib.SMTPResponseException)
    if reply is not None and reply.code >= 200:
        return _reply(reply, stage, config)
    if reply is not None:  # aiosmtplib's "invalid response": not SMTP at all
        return _fail(
            K.PROTOCOL,
            f"the server's answer is not SMTP: {reply.message.strip()}",
            f"check that {_where(config)} is an SMTP port and the security mode is right",
        )
    if isinstance(exc, OutOfStepError):
        return _fail(
            K.PROTOCOL,
            f"the server's replies are out of step with the commands: {exc}",
            "the server answers more replies than commands, or out of order; turn PIPELINING off for "
            "this MTA, or report it to the server's administrator",
        )
    if isinstance(exc, SpeaksTlsError):
        return speaks_tls()
    if isinstance(exc, AuthUnsupportedError):
        return _auth_unsupported(str(exc), config)
    if isinstance(exc, OAuthTokenError):
        return _fail(K.OAUTH_TOKEN, exc.text, exc.hint, configuration=True)
    if isinstance(exc, SmtpUtf8UnsupportedError):
        return _fail(
            K.RECIPIENT_REFUSED if stage != "mail" else K.SENDER_REFUSED,
            f"the address {exc} is not ASCII and the server does not offer SMTPUTF8",
            "the server cannot take internationalized addresses; use an ASCII address",
            permanent=True,
        )
    cert = _find(exc, ssl.SSLCertVerificationError)
    if cert is not None:
        return _certificate(cert, config)
    tls = _find(exc, ssl.SSLError)
    if tls is not None:
        return _handshake(tls, stage, config)
    timeout = _find(exc, TimeoutError)
    if timeout is not None:
        return _timeout(exc, stage, config)
    gai = _find(exc, socket.gaierror)
    if gai is not None:
        host = config.host if config else "the host"
        return _fail(
            K.DNS,
            f"{host} cannot be resolved: {gai.strerror}",
            "check the host name's spelling, or this host's DNS resolver",
        )
    if _find(exc, ConnectionRefusedError) is not None:
        port = config.port if config else "this"
        return _fail(
            K.REFUSED,
            f"the connection to {_where(config)} was refused",
            f"nothing listens on port {port}; check the port (25 plain, 465 SSL, "
            "587 STARTTLS) and that the mail server is running",
        )
    # aiosmtplib's own errors are ConnectionErrors too: look at what they wrap.
    oserror = next(
        (e for e in _chain(exc) if isinstance(e, OSError) and not isinstance(e, aiosmtplib.SMTPException)),
        None,
    )
    if (
        isinstance(oserror, ConnectionError)
        or _find(exc, aiosmtplib.SMTPServerDisconnected) is not None
        or _find(exc, EOFError) is not None
    ):
        return _disconnected(stage, config)
    if oserror is not None:
        reason = oserror.strerror or str(oserror)
        return _fail(
            K.REFUSED,
            f"{_where(config)} cannot be reached: {reason}",
            "check the address, the route and any firewall between this host and the server",
        )
    if isinstance(exc, ValueError) and stage in ("mail", "rcpt"):
        return _fail(
            K.SENDER_REFUSED if stage == "mail" else K.RECIPIENT_REFUSED,
            f"the address cannot be sent in an SMTP command: {exc}",
            "the address is invalid; correct it",
            permanent=True,
        )
    if isinstance(exc, ValueError) and stage == "connect":
        return _fail(
            K.PROTOCOL,
            f"the session cannot be set up: {exc}",
            "check the host name and the master server host name (used in EHLO)",
        )
    text = str(exc) or type(exc).__name__
    return _fail(
        K.PROTOCOL,
        f"unexpected failure during {stage}: {text}",
        "this is not a known SMTP failure; the transcript may tell more",
    )


def _reply(reply: aiosmtplib.SMTPResponseException, stage: str, config: MtaConfig | None) -> Outcome:
    code, text = reply.code, reply.message.replace("\n", " ")
    five = 500 <= code < 600
    if isinstance(reply, aiosmtplib.SMTPConnectResponseError) or stage == "connect":
        hint = (
            "the server is not taking connections now (busy, or this client is not "
            "welcome); try again later or check its access rules"
            if code < 500
            else "the server refuses connections from this host; check its access rules"
        )
        return _fail(K.GREETING, text, hint, code, permanent=five)
    if code == 421:
        return _fail(
            K.DISCONNECTED,
            text,
            "the server is closing the connection (421): overloaded or shutting down; try again later",
            code,
        )
    if stage != "starttls" and wants_tls(code, text):
        return starttls_required(code, text, config)
    if isinstance(reply, aiosmtplib.SMTPAuthenticationError) or stage == "auth":
        return _auth_reply(code, text, config)
    if stage == "ehlo" or isinstance(reply, aiosmtplib.SMTPHeloError):
        return _fail(
            K.PROTOCOL,
            text,
            "the server refused EHLO/HELO with our name; set the master server host name to a name it accepts",
            code,
            permanent=five,
        )
    if stage == "starttls":
        return _fail(
            K.STARTTLS_UNSUPPORTED,
            text,
            "the server refused STARTTLS; try SSL on 465, or turn STARTTLS off",
            code,
            configuration=five,
        )
    if code == 530 or (code in (550, 554) and "authenticat" in text.lower()):
        return _fail(
            K.AUTH_FAILED,
            text,
            "the server requires authentication; turn on User/Pass Authorization with a username and password",
            code,
            configuration=True,
        )
    if stage == "mail":
        hint = (
            "the server refuses this sender address; it may accept only senders of its "
            "own domains — check the administrator's email address"
            if five
            else "a temporary refusal of the sender; it will be tried again"
        )
        if code == 552:
            hint = "the message is larger than the server accepts"
        return _fail(K.SENDER_REFUSED, text, hint, code, permanent=five)
    if stage == "rcpt":
        lowered = text.lower()
        if five and ("relay" in lowered or "5.7.1" in lowered):
            hint = (
                "the server does not relay to this recipient for this client; it may need "
                "authentication or to allow this host"
            )
        elif five:
            hint = "the server does not accept this recipient; check the address"
        else:
            hint = "a temporary refusal (greylisting, a full mailbox or a busy server); it will be tried again"
        return _fail(K.RECIPIENT_REFUSED, text, hint, code, permanent=five)
    if stage == "data":
        if code == 552:
            hint = "the message is larger than the server accepts"
        elif five:
            hint = "the server refused the message content (policy, size or spam filter)"
        else:
            hint = "a temporary refusal of the message; it will be tried again"
        return _fail(K.DATA_REFUSED, text, hint, code, permanent=five)
    return _fail(K.PROTOCOL, text, f"unexpected reply during {stage}", code, permanent=five)


def _auth_reply(code: int, text: str, config: MtaConfig | None) -> Outcome:
    """A refused AUTH: a configuration fault (credentials, mechanism), except a
    4xx, which the server says is temporary."""
    if code == 535:
        oauth = config is not None and config.auth_mechanism == AuthMechanism.XOAUTH2
        hint = XOAUTH2_REJECTED_HINT if oauth else AUTH_REJECTED_HINT
        return _fail(K.AUTH_FAILED, text, hint, code, configuration=True)
    if code == 530:
        return _fail(
            K.AUTH_UNSUPPORTED,
            text,
            "the server wants encryption before AUTH; turn on STARTTLS (587) or SSL (465)",
            code,
            configuration=True,
        )
    if code == 504:
        return _auth_unsupported(text, config, code)
    if code == 534:
        hint = "the server wants a stronger mechanism or an application-specific password"
    elif code == 454 or 400 <= code < 500:
        hint = "a temporary authentication failure at the server; try again later"
        return _fail(K.AUTH_FAILED, text, hint, code)
    else:
        hint = AUTH_REJECTED_HINT
    return _fail(K.AUTH_FAILED, text, hint, code, configuration=True)


def _auth_unsupported(text: str, config: MtaConfig | None, code: int | None = None) -> Outcome:
    if config is not None and config.security == Security.NONE:
        hint = (
            "the server offers no usable AUTH on this plain connection; many servers "
            "offer it only with STARTTLS (587) or SSL (465)"
        )
    else:
        hint = "the server offers no usable AUTH; turn User/Pass Authorization off or use another port"
    return _fail(K.AUTH_UNSUPPORTED, text, hint, code, configuration=True)


def _certificate(err: ssl.SSLCertVerificationError, config: MtaConfig | None) -> Outcome:
    reason = err.verify_message or err.reason or str(err)
    lowered = reason.lower()
    if "expired" in lowered:
        hint = "the server certificate has expired; renew it on the server"
    elif "hostname" in lowered or "ip address mismatch" in lowered:
        host = config.host if config else "this host name"
        hint = f"the certificate is not valid for {host}; connect with a name it covers"
    else:
        hint = (
            "the certificate comes from a CA this host does not trust; add the CA "
            "(SSL_CERT_FILE) or turn certificate verification off"
        )
    if "turn certificate verification off" not in hint:
        hint += " (or turn certificate verification off)"
    return _fail(K.TLS_CERTIFICATE, f"the server certificate is not trusted: {reason}", hint, configuration=True)


def _handshake(err: ssl.SSLError, stage: str, config: MtaConfig | None) -> Outcome:
    reason = err.reason or err.strerror or str(err)
    upper = str(reason).upper()
    if any(r in upper for r in _NOT_TLS_REASONS) and stage == "connect":
        hint = NOT_SSL_HINT
    elif "UNSUPPORTED_PROTOCOL" in upper or "NO_PROTOCOLS" in upper or "VERSION" in upper:
        hint = "the server offers only an outdated TLS version; this host needs TLS 1.2 or newer"
    elif "HANDSHAKE_FAILURE" in upper or "NO_SHARED_CIPHER" in upper:
        hint = "the server and this host have no TLS cipher in common"
    elif stage == "connect":
        hint = NOT_SSL_HINT
    else:
        return _fail(
            K.TLS_HANDSHAKE,
            f"TLS handshake failed: {reason}",
            "the TLS negotiation failed; check the server's TLS setup",
        )
    # A security mode that does not fit the port, or a TLS setup in common with none.
    return _fail(K.TLS_HANDSHAKE, f"TLS handshake failed: {reason}", hint, configuration=True)


def _timeout(exc: BaseException, stage: str, config: MtaConfig | None) -> Outcome:
    seconds = f"{config.timeout:g} s" if config else "the timeout"
    text = str(exc)
    if stage == "connect" and "ready message" in text:
        return _fail(
            K.TIMEOUT,
            f"{NO_GREETING} within {seconds}",
            "the server may be overloaded, or this port expects SSL",
        )
    if stage == "connect" and config is not None and config.security == Security.SSL and ("connecting" not in text):
        return _fail(
            K.TIMEOUT,
            f"the TLS handshake got no answer within {seconds}",
            "the server does not answer the TLS handshake; check the port and the security mode",
        )
    if stage == "connect":
        return _fail(
            K.TIMEOUT,
            f"no answer from {_where(config)} within {seconds}",
            "a firewall may be dropping the connection, the host may be down, or the port "
            "does not answer in the chosen security mode",
        )
    if stage == "oauth":  # the token endpoint, not the SMTP server (ertui.smtp.oauth)
        url = config.oauth_token_url if config is not None else None
        where = (urlsplit(url).netloc or url) if url else "the token endpoint"
        return _fail(
            K.OAUTH_TOKEN,
            f"the token endpoint {where} did not answer within {seconds}",
            "check the Token URL and that this host can reach it (proxy, firewall)",
            configuration=True,
        )
    if stage == "data":
        return _fail(
            K.TIMEOUT,
            f"the server did not answer the message data within {seconds}",
            "the server may be overloaded; it may or may not have accepted the message",
        )
    return _fail(
        K.TIMEOUT,
        f"the server stopped answering during {stage} (waited {seconds})",
        "the server may be overloaded; try again or raise the timeout",
    )


def _disconnected(stage: str, config: MtaConfig | None) -> Outcome:
    if stage == "connect" and config is not None and config.security == Security.SSL:
        return _fail(K.TLS_HANDSHAKE, "the server closed the connection during the TLS handshake", NOT_SSL_HINT)
    if stage == "connect":
        return _fail(
            K.DISCONNECTED,
            "the server closed the connection before greeting",
            "the server may refuse this client, be overloaded, or expect SSL on this port",
        )
    during = {"data": "during the message data"}.get(stage, f"during {stage.upper()}")
    return _fail(
        K.DISCONNECTED,
        f"the server closed the connection {during}",
        "the server dropped the session; it may be overloaded or restarting — try again",
    )


def starttls_missing(config: MtaConfig) -> Outcome:
    return _fail(
        K.STARTTLS_UNSUPPORTED,
        "the server does not offer STARTTLS (it is not in the EHLO reply)",
        f"the server does not offer STARTTLS on port {config.port}; try SSL on 465, or turn STARTTLS off",
        configuration=True,
    )


def speaks_tls() -> Outcome:
    """No greeting, but the port completes a TLS handshake (``ertui.smtp.tls_probe``)."""
    return _fail(
        K.PROTOCOL,
        "no SMTP greeting, but the port completes a TLS handshake: it expects SSL",
        IS_SSL_HINT,
        configuration=True,
    )
