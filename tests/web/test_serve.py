"""`ertui serve` as a real process: the login it asks for, one console per connection, a clean stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import ClientSession, ClientWebSocketResponse, CookieJar, WSMsgType

from ertui.web.runner import ServeOptions
from tests.web.conftest import Served, alive, children, wait_until


def ertui(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ertui", "--db", str(db), *args], capture_output=True, text=True, timeout=60
    )


async def first_draw(ws: ClientWebSocketResponse) -> None:
    """The console behind the websocket draws (textual-serve sends its output as binary frames)."""
    while True:
        msg = await ws.receive(timeout=60)
        assert msg.type in (WSMsgType.BINARY, WSMsgType.TEXT), msg
        if msg.type == WSMsgType.BINARY and len(msg.data) > 10:
            return


async def test_serve_asks_for_a_login_and_each_connection_gets_its_own_console_stopped_at_the_end(
    serve: Callable[..., Served], db_path: Path
) -> None:
    served = serve(db_path)
    assert served.token is not None, served.stdout_text
    assert served.base.startswith("http://127.0.0.1:")
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as browser:
        async with browser.get(served.base + "/") as r:
            assert r.status == 401
        async with browser.get(f"{served.base}/?token={served.token}") as r:
            assert r.status == 200  # followed the redirect, with the session cookie
        assert served.consoles() == set()
        origin = {"Origin": served.base}
        async with (
            browser.ws_connect(served.base + "/ws?width=100&height=30", headers=origin) as tab1,
            browser.ws_connect(served.base + "/ws?width=100&height=30", headers=origin) as tab2,
        ):
            await first_draw(tab1)
            await first_draw(tab2)
            consoles = served.consoles()
            assert len(consoles) == 2  # one console process per tab
            assert served.stop() == 0
    wait_until(lambda: not any(alive(pid) for pid in consoles), "every console to end")
    assert children(served.proc.pid) == set()
    logs = served.stderr()
    assert "login with the start-up token" in logs
    assert served.token not in logs  # printed once on stdout, never logged
    assert "Traceback" not in logs


async def test_a_closed_tab_stops_its_console(serve: Callable[..., Served], db_path: Path) -> None:
    served = serve(db_path)
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as browser:
        await (await browser.get(f"{served.base}/?token={served.token}")).release()
        ws = await browser.ws_connect(served.base + "/ws", headers={"Origin": served.base})
        await first_draw(ws)
        (pid,) = served.consoles()
        await ws.close()
        wait_until(lambda: not alive(pid), "the console of the closed tab to end")
    assert served.stop(signal.SIGINT) == 0  # Ctrl-C


def test_the_demo_on_loopback_needs_no_login(serve: Callable[..., Served], tmp_path: Path) -> None:
    served = serve(tmp_path / "demo.db", "--demo")
    assert served.token is None and "no login" in served.stdout_text
    assert served.base.startswith("http://127.0.0.1:")
    assert served.stop() == 0


@pytest.mark.parametrize(
    ("host", "demo", "login"),
    [
        ("127.0.0.1", True, False),
        ("::1", True, False),
        ("localhost", True, False),
        ("127.0.0.1", False, True),
        ("0.0.0.0", True, True),
        ("192.0.2.10", True, True),
        ("::", True, True),
    ],
)
def test_only_a_demo_on_a_loopback_address_skips_the_login(host: str, demo: bool, login: bool) -> None:
    assert ServeOptions(host=host, demo=demo).login_required is login


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--public-url", "ftp://ertui.example.com"], "--public-url"),
        (["--public-url", "https://"], "--public-url"),
        (["--public-url", "https://ertui.example.com/?next=x"], "--public-url"),
        (["--host", ""], "--host"),
        (["--host", "bad_host!"], "--host"),
        (["--port", "70000"], "--port"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(db_path: Path, args: list[str], words: str) -> None:
    done = ertui(db_path, "serve", *args)
    assert done.returncode == 2
    assert words in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_port_in_use_is_one_sentence_and_exit_1(db_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = ertui(db_path, "serve", "--port", str(port))
    assert done.returncode == 1
    assert done.stderr.startswith(f"ertui: Cannot listen on 127.0.0.1 port {port}")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
