"""Real SMTP servers for the tests: aiosmtpd (plain, SSL, STARTTLS, AUTH) and a
few raw misbehaving servers, each on 127.0.0.1 with a free port (port 0).

Every server runs its own event loop in a thread (``ertui.smtp_sink.ThreadedServer``,
the demo sink's lifecycle too), so tests can drive a client from their own loop,
from a thread, or from a subprocess (the CLI, a worker).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, cast

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from ertui.smtp_sink import ThreadedServer, closed_port

__all__ = ["Behaviour", "RawServer", "Received", "SmtpServer", "closed_port", "greet_421", "silent"]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class Behaviour:
    """How the server answers; tests change it while the server runs."""

    # recipient -> SMTP reply to RCPT TO (e.g. "451 4.3.0 try later")
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    # a reply to every RCPT TO, unless rcpt_replies has one for the address
    rcpt_reply: str | None = None
    mail_reply: str | None = None
    data_reply: str | None = None
    # abort the connection when the message data has arrived, before replying
    drop_in_data: bool = False
    # seconds to sleep in DATA (to hold a connection busy)
    data_delay: float = 0.0


class SmtpServer(ThreadedServer):
    """An aiosmtpd server. ``mode`` is "plain", "ssl" (implicit TLS) or "starttls"."""

    def __init__(
        self,
        mode: str = "plain",
        *,
        server_ctx: ssl.SSLContext | None = None,
        auth: dict[str, str] | None = None,
        hostname: str = "mx.test.local",
        pipelining: bool = False,
    ) -> None:
        self.mode = mode
        # aiosmtpd does not offer PIPELINING (it handles pipelined commands in
        # order all the same); this adds it to the EHLO reply.
        self.pipelining = pipelining
        self.server_ctx = server_ctx
        self.auth = auth  # username -> password; None: no AUTH offered
        self.hostname = hostname
        self.behaviour = Behaviour()
        self.received: list[Received] = []
        self.open_connections = 0
        self.max_seen_connections = 0
        self.connections_total = 0
        self.auth_attempts: list[str] = []  # usernames tried
        self.ehlo_names: list[str] = []  # the names clients gave in EHLO
        self._lock = threading.Lock()
        super().__init__()

    # -- aiosmtpd handler hooks --------------------------------------------
    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        with self._lock:
            self.ehlo_names.append(hostname)
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.behaviour.mail_reply:
            return self.behaviour.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.behaviour.rcpt_replies.get(address) or self.behaviour.rcpt_reply
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.behaviour.data_delay:
            await asyncio.sleep(self.behaviour.data_delay)
        if self.behaviour.drop_in_data:
            assert server.transport is not None
            cast(asyncio.Transport, server.transport).abort()
            return "451 never sent"
        if self.behaviour.data_reply:
            return self.behaviour.data_reply
        with self._lock:
            self.received.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), _as_bytes(envelope.content))
            )
            n = len(self.received)
        return f"250 2.0.0 Ok: queued as TEST{n:05d}"

    def _authenticator(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert self.auth is not None
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = data.login.decode()
        with self._lock:
            self.auth_attempts.append(user)
        ok = self.auth.get(user) == data.password.decode()
        return AuthResult(success=ok, handled=False)

    # -- lifecycle -----------------------------------------------------------
    def _factory(self) -> SMTP:
        outer = self
        kwargs: dict[str, Any] = {"hostname": self.hostname, "ident": "aiosmtpd-test"}
        if self.mode == "starttls":
            kwargs["tls_context"] = self.server_ctx
            kwargs["require_starttls"] = False
        if self.auth is not None:
            kwargs["authenticator"] = self._authenticator
            kwargs["auth_require_tls"] = self.mode == "starttls"
        else:
            kwargs["auth_require_tls"] = False

        class CountingSMTP(SMTP):
            def connection_made(self, transport: Any) -> None:
                with outer._lock:
                    outer.open_connections += 1
                    outer.connections_total += 1
                    outer.max_seen_connections = max(outer.max_seen_connections, outer.open_connections)
                super().connection_made(transport)

            def connection_lost(self, exc: Exception | None) -> None:
                with outer._lock:
                    outer.open_connections -= 1
                super().connection_lost(exc)

        return CountingSMTP(self, **kwargs)

    async def _create(self) -> asyncio.Server:
        ctx = self.server_ctx if self.mode == "ssl" else None
        return await asyncio.get_running_loop().create_server(self._factory, "127.0.0.1", 0, ssl=ctx)


class RawServer(ThreadedServer):
    """A TCP server that runs ``script(reader, writer)`` for each connection.

    Used for servers that misbehave: never speak, greet with 421, answer with
    garbage.
    """

    def __init__(
        self,
        script: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]],
    ) -> None:
        super().__init__()
        self.script = script
        self.connections_total = 0

    async def _create(self) -> asyncio.Server:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections_total += 1
            task = asyncio.current_task()
            if task is not None:
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)
            try:
                await self.script(reader, writer)
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        return await asyncio.start_server(handle, "127.0.0.1", 0)


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts the connection and never says a word (until the client hangs up)."""
    await reader.read()


async def greet_421(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"421 4.3.2 mx.test.local Service not available, closing channel\r\n")
    await writer.drain()


def _as_bytes(content: bytes | str | None) -> bytes:
    if isinstance(content, str):
        return content.encode("utf-8", "surrogateescape")
    return content or b""
