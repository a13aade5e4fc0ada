"""The connection limit against an MTA that greets slowly (sendmail's
greet_pause, a tarpit): the session's early probe for TLS is a second
connection to the MTA, and the worker's connections each hold one slot of the
MTA's *max concurrent connections* — so the worker must never probe while
its own connection is open, or the MTA sees twice its limit.

The server is a raw TCP server that counts the connections open at once
(the limit is a count of sockets, whatever they carry)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy.engine import Engine

from ertui import queue
from ertui.smtp.outcome import MtaConfig
from ertui.smtp.session import SmtpSession
from tests.delivery.conftest import add_mta, fast_settings, run_worker
from tests.smtpd import RawServer

PROBE_AFTER = 0.2  # the session's early TLS probe, made short for the test
GREET_AFTER = 0.6  # the server's pause before its greeting: past the probe


class SlowGreeter:
    """Greets after GREET_AFTER s, then accepts every message; counts the
    connections open at once (``most``) and the messages (``contents``)."""

    def __init__(self) -> None:
        self.open = self.most = self.total = 0
        self.contents: list[bytes] = []
        self._lock = threading.Lock()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.open += 1
            self.total += 1
            self.most = max(self.most, self.open)
        try:
            await asyncio.sleep(GREET_AFTER)
            writer.write(b"220 slow.test ESMTP\r\n")
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(b"250-slow.test\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    data = b""
                    while (chunk := await reader.readline()) and chunk != b".\r\n":
                        data += chunk
                    with self._lock:
                        self.contents.append(data)
                    writer.write(b"250 2.0.0 queued\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    return
                else:
                    writer.write(b"250 ok\r\n")
                await writer.drain()
        finally:
            with self._lock:
                self.open -= 1


@pytest.fixture(autouse=True)
def short_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SmtpSession, "tls_probe_after", PROBE_AFTER)


async def test_a_session_with_one_connection_never_opens_a_second() -> None:
    server = SlowGreeter()
    with RawServer(server) as srv:
        session = SmtpSession(
            MtaConfig(host="127.0.0.1", port=srv.port, timeout=10.0), "me.example", one_connection=True
        )
        try:
            assert (await session.send("a@example.com", "b@example.com", b"Subject: x\r\n\r\nhi\r\n")).ok
        finally:
            await session.close()
    assert srv.connections_total == 1
    assert server.most == 1


@pytest.mark.parametrize("limit", [1, 2])
def test_the_worker_keeps_to_the_limit_of_an_mta_that_greets_slowly(store: Engine, limit: int) -> None:
    server = SlowGreeter()
    with RawServer(server) as srv:
        add_mta(store, "slow greeter", srv.port, max_connections=limit, timeout=10)
        queue.enqueue_batch(store, [(f"u{i}@example.com", "s", "b") for i in range(6)])
        run_worker(store, fast_settings(idle_close_seconds=0.2))
    assert len(server.contents) == 6
    assert server.most <= limit, f"{server.most} connections at once with a limit of {limit}"
