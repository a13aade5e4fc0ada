"""Running the served console: bind, print the address, serve until a signal, stop every console."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Callable

from aiohttp import web
from sqlalchemy.engine import Engine

from ertui.errors import ErtuiError
from ertui.web.auth import Guard
from ertui.web.gate import Gate, is_loopback
from ertui.web.server import RUNNER_OPTIONS, ConsoleServer

log = logging.getLogger("ertui.web")

SHUTDOWN_TIMEOUT = 10.0


class ServeOptions:
    """What ``ertui serve`` was asked for (checked by the CLI)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        public_url: str | None = None,
        demo: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.public_url = public_url.rstrip("/") if public_url else None
        self.demo = demo

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def login_required(self) -> bool:
        """Always, except for a demo that only this machine can reach."""
        return not (self.demo and self.loopback)


def _url(host: str, port: int) -> str:
    name = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        name = socket.gethostname() or "HOST"  # every address: this machine's name is one way in
    return f"http://{name}:{port}"


def start_message(options: ServeOptions, guard: Guard, port: int) -> str:
    base = options.public_url or _url(options.host, port)
    if not guard.login_required:
        return f"ertui serve: the demo console on {base}/ (no login: a demo on a loopback address).\nCtrl-C stops it."
    return (
        f"ertui serve: the console on {base}/\n"
        f"Open this link once to log in (it works one time): {base}/?token={guard.token}\n"
        "or log in with an ertui user's name and password. Ctrl-C stops it."
    )


async def _serve(
    options: ServeOptions, engine: Engine, db_url: str, announce: Callable[[str], None], stop: asyncio.Event
) -> None:
    guard = Guard(
        engine,
        login_required=options.login_required,
        secure_cookie=bool(options.public_url and options.public_url.startswith("https:")),
    )
    gate = Gate(guard, loopback_only=options.loopback, public_url=options.public_url)
    server = ConsoleServer(gate=gate, db_url=db_url, public_url=options.public_url)
    runner = web.AppRunner(
        await server.make_app(),
        **RUNNER_OPTIONS,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, options.host, options.port)
        try:
            await site.start()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ErtuiError(f"Cannot listen on {options.host} port {options.port}: {reason}.") from None
        port = runner.addresses[0][1] if runner.addresses else options.port
        announce(start_message(options, guard, port))
        await stop.wait()
        log.info("stopping: %d console(s) open", len(server.consoles))
        await server.stop_consoles()
    finally:
        await runner.cleanup()


def _log_to_stderr() -> None:
    """The server's own lines (logins, consoles, the access log) on stderr; the demo sink's chatter not."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("ertui.web", "aiohttp.access", "aiohttp.server", "aiohttp.web", "textual-serve"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False


def serve(options: ServeOptions, engine: Engine, db_url: str, announce: Callable[[str], None]) -> None:
    """Serve until SIGINT, SIGTERM or SIGHUP; every console process stopped on the way out."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        try:
            await _serve(options, engine, db_url, announce, stop)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(sig)

    _log_to_stderr()
    asyncio.run(main())
