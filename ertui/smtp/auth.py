"""AUTH for a session (``ertui.smtp.session``): the MTA's mechanism — ``auto``
(the best both sides know among CRAM-MD5, PLAIN and LOGIN), one named, or
XOAUTH2 with an OAuth2 access token (``ertui.smtp.oauth``). Raises what
aiosmtplib raises, for the classifier; a 535 (credentials rejected) is final:
retrying other methods only risks a lockout."""

from __future__ import annotations

import aiosmtplib

from ertui.mta_rules import AUTO_MECHANISMS, AuthMechanism
from ertui.smtp.outcome import AuthUnsupportedError, MtaConfig
from ertui.smtp.transcript import Redactor, Transcript


async def login(
    smtp: aiosmtplib.SMTP, cfg: MtaConfig, redactor: Redactor, transcript: Transcript | None, token: str | None = None
) -> aiosmtplib.SMTPResponse:
    """AUTH as the MTA says; ``token``: XOAUTH2's access token when the caller
    has it already (the session asks for it as a stage of its own)."""
    if not smtp.supports_extension("auth"):
        raise AuthUnsupportedError("the server does not offer AUTH")
    offered = smtp.server_auth_methods
    wanted = cfg.auth_mechanism
    methods: list[str]
    if wanted == AuthMechanism.AUTO:
        methods = [m.value for m in AUTO_MECHANISMS if m.value in offered]
    else:
        methods = [wanted.value] if wanted.value in offered else []
    if not methods:
        shown = " ".join(offered).upper() or "none"
        if wanted == AuthMechanism.AUTO:
            raise AuthUnsupportedError(f"no authentication method in common (server offers: {shown})")
        raise AuthUnsupportedError(f"the server does not offer AUTH {wanted.value.upper()} (server offers: {shown})")
    user = cfg.username or ""
    if wanted == AuthMechanism.XOAUTH2:
        return await _xoauth2(smtp, cfg, user, redactor, transcript, token)
    password = cfg.password or ""
    error: aiosmtplib.SMTPAuthenticationError | None = None
    for name in methods:
        method = getattr(smtp, f"auth_{name.replace('-', '')}")
        try:
            response: aiosmtplib.SMTPResponse = await method(user, password)
            return response
        except aiosmtplib.SMTPAuthenticationError as exc:
            error = exc
            if exc.code == 535 or not smtp.is_connected:
                break
    assert error is not None
    raise error


async def oauth_token(smtp: aiosmtplib.SMTP, cfg: MtaConfig) -> str | None:
    """XOAUTH2's access token, when the MTA uses it and the server offers it
    (asked by the session as a stage of its own, before AUTH)."""
    if cfg.auth_mechanism != AuthMechanism.XOAUTH2 or "xoauth2" not in smtp.server_auth_methods:
        return None
    from ertui.smtp import oauth  # httpx loads only for an MTA that uses it

    return await oauth.access_token(cfg)


async def _xoauth2(
    smtp: aiosmtplib.SMTP,
    cfg: MtaConfig,
    user: str,
    redactor: Redactor,
    transcript: Transcript | None,
    token: str | None,
) -> aiosmtplib.SMTPResponse:
    """AUTH XOAUTH2 through aiosmtplib's own encoding, with a token of the
    client-credentials grant (cached per process), redacted like a password.
    A refused token leaves the cache: the next connection asks for a new one."""
    from ertui.smtp import oauth  # httpx loads only for an MTA that uses it

    if token is None:
        token = await oauth.access_token(cfg)
    redactor.add_secret(token, user)
    if transcript is not None:
        transcript.add_secret(token, user)
    try:
        return await smtp.auth_xoauth2(user, token)
    except aiosmtplib.SMTPAuthenticationError:
        oauth.forget(cfg)
        raise
