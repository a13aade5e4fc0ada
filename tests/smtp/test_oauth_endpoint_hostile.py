"""XOAUTH2 against token endpoints that misbehave during delivery: one that
sends without end (a Token URL pointing at a large download, or a hostile
server) filled the worker's memory until the MTA's timeout — hundreds of MB a
second; the answer is now read up to ``oauth.MAX_ANSWER`` bytes and refused
past it (``tests/delivery/test_oauth_endpoint_worker.py``: one that never
answers during delivery)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator

import pytest

from ertui.mta_rules import AuthMechanism
from ertui.smtp import oauth
from ertui.smtp.outcome import ErrorKind, MtaConfig
from ertui.smtp.session import SmtpSession
from tests.relay_servers import USER, RelayServer
from tests.smtpd import RawServer


async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """HTTP 200 and a body that never ends."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
    chunk = b"x" * 65536
    while True:
        writer.write(chunk)
        await writer.drain()


async def bomb(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A small gzip answer that inflates to 64 MiB."""
    await reader.readuntil(b"\r\n\r\n")
    body = gzip.compress(b" " * (64 * 1024 * 1024))
    head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    writer.write(head.encode() + body)
    await writer.drain()


def oauth_config(smtp_port: int, url: str, timeout: float) -> MtaConfig:
    return MtaConfig(
        host="127.0.0.1",
        port=smtp_port,
        timeout=timeout,
        use_auth=True,
        username=USER,
        auth_mechanism=AuthMechanism.XOAUTH2,
        oauth_token_url=url,
        oauth_client_id="app-1",
        oauth_secret="s3cret",
    )


@pytest.fixture(autouse=True)
def no_cached_token() -> Iterator[None]:
    yield
    oauth._cache.clear()


@pytest.mark.parametrize("script", [endless, bomb], ids=["endless", "gzip bomb"])
async def test_an_answer_without_end_is_refused_at_its_limit(relay: RelayServer, script: object) -> None:
    with RawServer(script) as ep:  # type: ignore[arg-type]
        session = SmtpSession(oauth_config(relay.port, f"http://127.0.0.1:{ep.port}/token", 3.0), "me.example")
        try:
            async with asyncio.timeout(10):
                outcome = await session.send("a@example.org", "b@example.com", b"Subject: t\r\n\r\nhi\r\n")
        finally:
            await session.close()
    assert outcome.kind == ErrorKind.OAUTH_TOKEN and outcome.configuration, outcome
    assert "more than 64 KiB" in outcome.message and "Token URL" in outcome.hint
    assert relay.mechanisms == []  # no AUTH without a token
