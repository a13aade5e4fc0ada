"""OAuth2 for AUTH XOAUTH2: an access token from the MTA's token endpoint by
the client-credentials grant (RFC 6749 section 4.4), through ``httpx``.

The token is cached in memory, per process, per (token URL, client id, scope,
client secret) until shortly before it expires; it is never written to the
store, a log or a transcript (the session redacts it). The SASL string of
XOAUTH2 is aiosmtplib's (``SMTP.auth_xoauth2``), not built here.

A refused or failed grant raises ``OAuthTokenError`` with the endpoint's own
error text and a hint; the classifier makes it an ``oauth_token`` Outcome.
"""

from __future__ import annotations

import hashlib
import math
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ertui.smtp.outcome import MtaConfig, OAuthTokenError

# Renew this long before the endpoint's expiry (or a tenth of a short lifetime).
REFRESH_MARGIN = 60.0
DEFAULT_LIFETIME = 3600.0  # when the endpoint gives no expires_in


@dataclass(frozen=True)
class _Token:
    value: str
    renew_at: float  # time.monotonic()


_cache: dict[tuple[str, str, str, str], _Token] = {}


def _key(config: MtaConfig) -> tuple[str, str, str, str]:
    secret = hashlib.sha256((config.oauth_secret or "").encode("utf-8")).hexdigest()
    return (config.oauth_token_url or "", config.oauth_client_id or "", config.oauth_scope or "", secret)


def forget(config: MtaConfig) -> None:
    """Drop the cached token (the SMTP server refused it): the next connection asks again."""
    _cache.pop(_key(config), None)


async def access_token(config: MtaConfig) -> str:
    """A valid access token for this MTA: the cached one, or a new grant."""
    key = _key(config)
    cached = _cache.get(key)
    if cached is not None and time.monotonic() < cached.renew_at:
        return cached.value
    value, lifetime = await _grant(config)
    margin = min(REFRESH_MARGIN, lifetime / 10)
    _cache[key] = _Token(value, time.monotonic() + max(0.0, lifetime - margin))
    return value


async def _grant(config: MtaConfig) -> tuple[str, float]:
    url = config.oauth_token_url or ""
    where = urlsplit(url).netloc or url
    form = {
        "grant_type": "client_credentials",
        "client_id": config.oauth_client_id or "",
        "client_secret": config.oauth_secret or "",
        "scope": config.oauth_scope or "",
    }
    verify: ssl.SSLContext | bool = ssl.create_default_context() if config.verify_tls else False
    try:
        async with httpx.AsyncClient(timeout=config.timeout, verify=verify, follow_redirects=False) as client:
            reply = await client.post(url, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise OAuthTokenError(
            f"the token endpoint {where} cannot be reached: {reason}",
            "check the Token URL and that this host can reach it (proxy, firewall)",
        ) from None
    body = _json(reply)
    token = body.get("access_token")
    if reply.status_code != 200 or not isinstance(token, str) or not token:
        said = " — ".join(str(body[k]) for k in ("error", "error_description") if body.get(k))
        said = said or reply.text.strip()[:300] or "no access token in the answer"
        raise OAuthTokenError(f"the token endpoint {where} refused the grant (HTTP {reply.status_code}): {said}")
    try:  # a number from outside: 1e400 (inf), NaN, or an integer too large for a float
        lifetime = float(body.get("expires_in", DEFAULT_LIFETIME))
    except (TypeError, ValueError, OverflowError):
        lifetime = DEFAULT_LIFETIME
    return token, max(0.0, lifetime) if math.isfinite(lifetime) else DEFAULT_LIFETIME


def _json(reply: httpx.Response) -> dict[str, Any]:
    try:
        body = reply.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
