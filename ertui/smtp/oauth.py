"""OAuth2 for AUTH XOAUTH2: an access token from the MTA's token endpoint by
the client-credentials grant (RFC 6749 section 4.4), through ``httpx``.

The token is cached in memory, per process, per (token URL, client id, scope,
client secret) until shortly before it expires; it is never written to the
store, a log or a transcript (the session redacts it). The SASL string of
XOAUTH2 is aiosmtplib's (``SMTP.auth_xoauth2``), not built here.

The endpoint's certificate is always verified (the system CA store, or
``SSL_CERT_FILE``), whatever the MTA's *Verify TLS* says of its SMTP server.
A refused or failed grant raises ``OAuthTokenError`` with the endpoint's own
error text (the client secret and any token in the answer redacted, then cut
to length) and a hint; the classifier makes it an ``oauth_token`` Outcome.
The answer is read as a stream and at most ``MAX_ANSWER`` bytes of it (a token
answer is a few KiB): an endpoint that sends without end — a wrong URL to a
large download, a hostile server — is refused at that size instead of filling
the worker's memory until the MTA's timeout.
"""

from __future__ import annotations

import hashlib
import json
import math
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ertui.smtp.outcome import MtaConfig, OAuthTokenError
from ertui.smtp.transcript import Redactor

# Renew this long before the endpoint's expiry (or a tenth of a short lifetime).
REFRESH_MARGIN = 60.0
DEFAULT_LIFETIME = 3600.0  # when the endpoint gives no expires_in
SAID_LIMIT = 300  # characters of the endpoint's own words in an error
MAX_ANSWER = 64 * 1024  # bytes of the endpoint's answer read at most (decoded)


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
    # The endpoint's words may echo the request (the client secret, form-encoded):
    # redacted whole, before they are cut to length (a cut would split a secret).
    redactor = Redactor.for_config(config)
    redact = redactor.scrub
    # Always verified (the system CA store, SSL_CERT_FILE): the MTA's Verify TLS
    # is about its SMTP server; the client secret goes to no unverified endpoint.
    verify = ssl.create_default_context()
    # A proxy from the environment (HTTPS_PROXY) for https only, where it sees a
    # tunnel; http:// is for this host only and would hand a proxy the secret in clear.
    proxies = urlsplit(url).scheme.lower() == "https"
    try:
        async with (
            httpx.AsyncClient(
                timeout=config.timeout, verify=verify, follow_redirects=False, trust_env=proxies
            ) as client,
            client.stream("POST", url, data=form, headers={"Accept": "application/json"}) as reply,
        ):
            status, raw = reply.status_code, await _bounded(reply, where)
    except httpx.HTTPError as exc:
        reason = redact(str(exc))[:SAID_LIMIT] or type(exc).__name__
        raise OAuthTokenError(
            f"the token endpoint {where} cannot be reached: {reason}",
            "check the Token URL and that this host can reach it (proxy, firewall)",
        ) from None
    body = _json(raw)
    token = body.get("access_token")
    for key in ("access_token", "refresh_token", "id_token"):  # in an answer refused all the same
        if isinstance(body.get(key), str):
            redactor.add_secret(body[key])
    if status != 200 or not isinstance(token, str) or not token:
        said = " — ".join(str(body[k]) for k in ("error", "error_description") if body.get(k))
        said = redact(said or raw.decode("utf-8", "replace").strip())[:SAID_LIMIT] or "no access token in the answer"
        raise OAuthTokenError(f"the token endpoint {where} refused the grant (HTTP {status}): {said}")
    try:  # a number from outside: 1e400 (inf), NaN, or an integer too large for a float
        lifetime = float(body.get("expires_in", DEFAULT_LIFETIME))
    except (TypeError, ValueError, OverflowError):
        lifetime = DEFAULT_LIFETIME
    return token, max(0.0, lifetime) if math.isfinite(lifetime) else DEFAULT_LIFETIME


async def _bounded(reply: httpx.Response, where: str) -> bytes:
    """The answer's body, refused past ``MAX_ANSWER`` bytes."""
    body = bytearray()
    async for chunk in reply.aiter_bytes():
        body += chunk
        if len(body) > MAX_ANSWER:
            raise OAuthTokenError(
                f"the token endpoint {where} sent more than {MAX_ANSWER // 1024} KiB: not a token answer",
                "check the Token URL: it must be the OAuth2 token endpoint (…/oauth2/v2.0/token)",
            )
    return bytes(body)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        return {}
    return body if isinstance(body, dict) else {}
