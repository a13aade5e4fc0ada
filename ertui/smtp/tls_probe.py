"""Probing a port that gave no greeting for TLS: a port that completes a TLS
handshake is an SSL port used without SSL (a second connection to the port:
the session says when it may open one)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from ertui.mta_rules import Security
from ertui.smtp.classify import NO_GREETING, speaks_tls
from ertui.smtp.outcome import MtaConfig, Outcome


async def diagnose_silence(config: MtaConfig, outcome: Outcome) -> Outcome:
    """A server that accepted the connection but never greeted: if the port
    completes a TLS handshake, it is an SSL port used without SSL."""
    if config.security == Security.SSL or not outcome.message.startswith(NO_GREETING):
        return outcome
    if not await answers_tls(config.host, config.port, min(config.timeout, 5.0)):
        return outcome
    return speaks_tls()


async def answers_tls(host: str, port: int, seconds: float) -> bool:
    """Whether ``host:port`` completes a TLS handshake (nothing verified)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=ctx, ssl_handshake_timeout=seconds),
            seconds,
        )
    except (OSError, TimeoutError, ValueError):
        return False
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    return True
