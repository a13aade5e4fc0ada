"""A server on 127.0.0.1 that lives on its own event loop in a thread: the
lifecycle shared by the demo's SMTP sink (``ertui.demo``) and the test servers
(``tests/smtpd.py``).

On its own thread, the server answers clients driven from any event loop, from
another thread or from another process (the CLI, a worker). It listens on a
free port (port 0: never a fixed one); ``stop`` closes it, cancels the
connections still open and ends the thread.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from typing import Any, Self


class ThreadedServer:
    """Subclasses make the server in ``_create`` (called on the server's loop)."""

    def __init__(self, name: str = "ertui-smtp-sink") -> None:
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._server: asyncio.Server | None = None
        # Connection handlers to cancel on stop (a subclass adds its own tasks).
        self._handlers: set[asyncio.Task[Any]] = set()

    async def _create(self) -> asyncio.Server:
        raise NotImplementedError

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the server's loop and wait (10 s at most) for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def start(self) -> Self:
        self._thread.start()
        self._server = self.run(self._create())
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        async def _stop() -> None:
            if self._server is not None:
                self._server.close()
            handlers = list(self._handlers)
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

        try:
            if self._thread.is_alive():
                self.run(_stop())
        finally:
            if self._thread.ident is not None:  # (started)
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
