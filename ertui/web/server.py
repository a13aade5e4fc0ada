"""The served console: textual-serve's page, websocket and static files, behind the gate.

textual-serve 1.1 (``textual_serve.server.Server``) builds an aiohttp app with
``/``, ``/ws``, ``/static`` and ``/download/{key}`` and starts one process per
websocket (``AppService``). :class:`ConsoleServer` keeps its page template,
static files, message loop and downloads, and changes four things:

- the app is built with the gate's middleware first and its ``/login`` routes;
- each console is ``sys.executable -m ertui`` started without a shell, with
  the store in ``ERTUI_DB`` (a PostgreSQL password never in argv), in a
  process group of its own, and tracked, so that shutdown stops every one;
- the page's websocket address follows the address the browser used (or
  ``--public-url``), so the session cookie goes with it;
- the access log has no query strings (the start-up token is one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from asyncio.subprocess import Process
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import WSMsgType, web
from aiohttp.abc import AbstractAccessLogger
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from ertui.config import ENV_DB
from ertui.termsafe import terminal_safe
from ertui.web.gate import Gate

log = logging.getLogger("ertui.web")

QUIT_GRACE = 5.0  # seconds a console has to quit before it is terminated
KILL_GRACE = 3.0
SIZE_RETELL = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)  # seconds between telling a starting console its size


class ConsoleProcess(AppService):
    """One ``ertui`` console process, for one browser connection."""

    def __init__(self, db_url: str, size: tuple[int, int], **kwargs: Any) -> None:
        super().__init__(sys.executable, **kwargs)
        self.db_url = db_url
        self.argv: list[str] = [sys.executable, "-m", "ertui"]  # the store goes in ERTUI_DB, not argv
        self._size = size
        self._drawn = False
        self._sizer: asyncio.Task[None] | None = None
        self._stderr_task: asyncio.Task[None] | None = None

    async def on_data(self, payload: bytes) -> None:
        # The console drops COLUMNS at start (tui.app.run) and would draw 80 wide,
        # and a resize that arrives while it starts is lost: once it draws, it is
        # told the browser's size, again a few times while it settles (the same
        # size twice is a no-op for Textual).
        if not self._drawn:
            self._drawn = True
            self._sizer = asyncio.create_task(self._tell_size())
        await super().on_data(payload)

    async def start(self, width: int, height: int) -> None:
        await self._open_app_process(width, height)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        """textual-serve's ``run``, without its one false cancellation: when the
        console's output is all read in at once (it wrote and ended before the
        reader got a turn), ``run`` cancels its stderr reader before that ever
        started and re-raises the CancelledError, which is nobody's cancel."""
        try:
            await self.run()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this task was cancelled: pass it on

    async def _tell_size(self) -> None:
        for pause in SIZE_RETELL:
            await asyncio.sleep(pause)
            if self._process is None or self._process.returncode is not None:
                return
            await super().set_terminal_size(*self._size)

    async def set_terminal_size(self, width: int, height: int) -> None:
        self._size = (width, height)
        await super().set_terminal_size(width, height)

    @property
    def process(self) -> Process | None:
        return self._process

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        environment = self._build_environment(width=width, height=height)
        environment[ENV_DB] = self.db_url
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            start_new_session=True,  # Ctrl-C in the server's terminal reaches the server only
        )
        assert process.stdin is not None and process.stderr is not None
        self._stdin = process.stdin
        # Its stderr goes to our log line by line, made safe for a terminal;
        # textual-serve would copy it raw to our stdout when the console ends.
        self._stderr_task = asyncio.create_task(_log_lines(process.pid, process.stderr))
        done = asyncio.StreamReader()
        done.feed_eof()
        process.stderr = done
        return process

    async def stop(self) -> None:
        """Ask the console to quit; terminate, then kill, its process group if it does not."""
        process = self._process
        task = self._task
        if process is None or task is None:
            return
        self._task = None
        if self._sizer is not None:
            self._sizer.cancel()
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        await self.send_meta({"type": "quit"})
        for sig, grace in ((None, QUIT_GRACE), (signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, None)):
            if sig is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)
            try:
                await asyncio.wait_for(asyncio.shield(process.wait()), grace)
                break
            except TimeoutError:
                log.warning("the console process %d did not stop in time", process.pid)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, KILL_GRACE)
        if self._stderr_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._stderr_task, KILL_GRACE)


async def _log_lines(pid: int, stream: asyncio.StreamReader) -> None:
    while line := await stream.readline():
        log.warning("console %d: %s", pid, terminal_safe(line.decode("utf-8", "replace").rstrip("\n")))


class QuietAccessLogger(AbstractAccessLogger):
    """One line per request, with the path and never the query (the token)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %s', request.remote, request.method, request.path, response.status)


# How the app is run (``ertui serve`` and the tests): no signal handling of aiohttp's own, no query in the log.
RUNNER_OPTIONS: dict[str, Any] = {"handle_signals": False, "access_log_class": QuietAccessLogger}


class ConsoleServer(Server):
    def __init__(self, *, gate: Gate, db_url: str, public_url: str | None = None) -> None:
        super().__init__("ertui", title="ertui", public_url=public_url or "")
        self.gate = gate
        self.db_url = db_url
        self.fixed_public_url = public_url.rstrip("/") if public_url else None
        self.consoles: set[ConsoleProcess] = set()

    async def _make_app(self) -> web.Application:
        return await self.make_app()

    async def make_app(self) -> web.Application:
        """textual-serve's routes (its handlers, its template, its files) behind the gate."""
        app = web.Application(middlewares=[self.gate.middleware])
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
                *self.gate.routes(),
            ]
        )
        app.on_shutdown.append(self.on_shutdown)
        return app

    def base_url(self, request: web.Request) -> str:
        """Where the browser reached us: ``--public-url``, or the address it used."""
        return self.fixed_public_url or f"{request.scheme}://{request.host}"

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        base = self.base_url(request)
        ws_base = ("wss:" if base.startswith("https:") else "ws:") + base.split(":", 1)[1]
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{ws_base}/ws",
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service: AppService) -> None:
        """textual-serve's loop, without a traceback for a malformed message (it is ignored)."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
                kind, data = envelope[0], envelope[1]
                if kind == "stdin":
                    await app_service.send_bytes(str(data).encode("utf-8"))
                elif kind == "resize":
                    await app_service.set_terminal_size(int(data["width"]), int(data["height"]))
                elif kind == "ping":
                    await websocket.send_json(["pong", data])
                elif kind == "blur":
                    await app_service.blur()
                elif kind == "focus":
                    await app_service.focus()
            except (ValueError, TypeError, KeyError, IndexError):
                log.debug("ignored a malformed message on the websocket")

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        console = ConsoleProcess(
            self.db_url,
            (width, height),
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
        )
        self.consoles.add(console)
        try:
            await websocket.prepare(request)
            await console.start(width, height)
            log.info("console process %s started for %s", console.process and console.process.pid, request.remote)
            await self._process_messages(websocket, console)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:
            log.exception("the browser connection from %s failed", request.remote)
        finally:
            await console.stop()
            self.consoles.discard(console)
        return websocket

    async def stop_consoles(self) -> None:
        await asyncio.gather(*(console.stop() for console in list(self.consoles)), return_exceptions=True)

    async def on_shutdown(self, app: web.Application) -> None:
        await self.stop_consoles()
