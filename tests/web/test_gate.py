"""The gate in front of textual-serve, in process: nothing reaches a console without a session."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from http.cookies import SimpleCookie

import pytest
from aiohttp import ClientSession, CookieJar, WSServerHandshakeError
from aiohttp.test_utils import TestServer
from sqlalchemy.engine import Engine

from ertui import users
from ertui.web.auth import MAX_FAILURES, SESSION_COOKIE, Guard
from ertui.web.gate import Gate
from ertui.web.server import RUNNER_OPTIONS, ConsoleServer

PASSWORD = "correct horse battery"


class Site:
    def __init__(self, server: TestServer, console: ConsoleServer, guard: Guard) -> None:
        self.server = server
        self.console = console
        self.guard = guard
        self.base = str(server.make_url("")).rstrip("/")
        self.session = ClientSession(cookie_jar=CookieJar(unsafe=True))

    def url(self, path: str) -> str:
        return self.base + path


MakeSite = Callable[..., Awaitable[Site]]


@pytest.fixture
async def site(engine: Engine) -> AsyncIterator[MakeSite]:
    """The served console's aiohttp app on 127.0.0.1 (a free port), as ``ertui serve`` builds it."""
    made: list[Site] = []

    async def make(*, login_required: bool = True, public_url: str | None = None) -> Site:
        guard = Guard(engine, login_required=login_required, secure_cookie=bool(public_url and "https" in public_url))
        gate = Gate(guard, loopback_only=True, public_url=public_url)
        console = ConsoleServer(gate=gate, db_url="sqlite:///unused.db", public_url=public_url)
        server = TestServer(await console.make_app(), host="127.0.0.1")
        await server.start_server(**RUNNER_OPTIONS)
        made.append(Site(server, console, guard))
        return made[-1]

    yield make
    for s in made:
        await s.session.close()
        await s.server.close()


async def test_without_a_session_the_page_the_websocket_and_the_files_are_refused(
    site: MakeSite,
) -> None:
    s = await site()
    async with s.session.get(s.url("/")) as r:
        assert r.status == 401
        assert 'action="/login"' in await r.text()
    for path in ("/static/js/textual.js", "/download/x"):
        async with s.session.get(s.url(path)) as r:
            assert r.status in (401, 403)
    with pytest.raises(WSServerHandshakeError) as refused:
        await s.session.ws_connect(s.url("/ws"), headers={"Origin": s.base})
    assert refused.value.status == 403
    assert not s.console.consoles  # the websocket never reached textual-serve's handler


async def test_a_wrong_session_cookie_is_refused(site: MakeSite) -> None:
    s = await site()
    s.guard.new_session()
    s.session.cookie_jar.update_cookies({SESSION_COOKIE: "forged-session-id"})
    async with s.session.get(s.url("/")) as r:
        assert r.status == 401
    with pytest.raises(WSServerHandshakeError) as refused:
        await s.session.ws_connect(s.url("/ws"), headers={"Origin": s.base})
    assert refused.value.status == 403


async def test_the_token_logs_in_once_with_a_strict_httponly_cookie_and_leaves_the_address(
    site: MakeSite,
) -> None:
    s = await site()
    token = s.guard.token
    assert token is not None and len(token) >= 43  # 32 random bytes, URL-safe base64
    async with s.session.get(s.url(f"/?token={token}"), allow_redirects=False) as r:
        assert r.status == 303
        assert r.headers["Location"] == "/"
        cookie = SimpleCookie(r.headers["Set-Cookie"])[SESSION_COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    async with s.session.get(s.url("/")) as r:
        assert r.status == 200
        assert "/ws" in await r.text()
    async with (
        ClientSession(cookie_jar=CookieJar(unsafe=True)) as other,
        other.get(s.url(f"/?token={token}"), allow_redirects=False) as r,
    ):
        assert r.status == 403  # spent
        assert "Set-Cookie" not in r.headers


async def test_a_wrong_token_is_refused_and_counts_as_a_failed_login(site: MakeSite) -> None:
    s = await site()
    for _ in range(MAX_FAILURES):
        async with s.session.get(s.url("/?token=guess"), allow_redirects=False) as r:
            assert r.status == 403
    async with s.session.get(s.url(f"/?token={s.guard.token}"), allow_redirects=False) as r:
        assert r.status == 429  # even the right token waits: guessing is throttled
        assert int(r.headers["Retry-After"]) > 0


async def test_behind_an_https_public_url_the_cookie_is_secure(site: MakeSite) -> None:
    s = await site(public_url="https://ertui.example.com")
    async with s.session.get(s.url(f"/?token={s.guard.token}"), allow_redirects=False) as r:
        assert r.status == 303
        assert SimpleCookie(r.headers["Set-Cookie"])[SESSION_COOKIE]["secure"]


async def test_a_user_logs_in_with_name_and_password(site: MakeSite, engine: Engine) -> None:
    users.add_user(engine, "operator", password=PASSWORD)
    s = await site()
    form = {"username": "operator", "password": PASSWORD}
    async with s.session.post(s.url("/login"), data=form, allow_redirects=False, headers={"Origin": s.base}) as r:
        assert r.status == 303
        assert SimpleCookie(r.headers["Set-Cookie"])[SESSION_COOKIE]["httponly"]
    async with s.session.get(s.url("/")) as r:
        assert r.status == 200


async def test_six_wrong_passwords_in_a_minute_are_throttled_and_logged(
    site: MakeSite, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    users.add_user(engine, "operator", password=PASSWORD)
    s = await site()
    caplog.set_level(logging.INFO, logger="ertui.web")
    statuses = []
    for i in range(MAX_FAILURES + 1):
        form = {"username": "operator", "password": f"wrong {i}"}
        async with s.session.post(s.url("/login"), data=form, allow_redirects=False) as r:
            statuses.append(r.status)
    assert statuses == [401] * MAX_FAILURES + [429]
    right = {"username": "operator", "password": PASSWORD}
    async with s.session.post(s.url("/login"), data=right, allow_redirects=False) as r:
        assert r.status == 429  # the right password waits too while throttled
        assert "Set-Cookie" not in r.headers
    failures = [rec for rec in caplog.records if "failed login as operator" in rec.getMessage()]
    assert len(failures) == MAX_FAILURES
    assert any("throttled" in rec.getMessage() for rec in caplog.records)
    assert not any("wrong" in rec.getMessage() or PASSWORD in rec.getMessage() for rec in caplog.records)


async def test_an_unknown_user_and_a_user_without_password_are_refused(site: MakeSite, engine: Engine) -> None:
    users.add_user(engine, "nopass")
    s = await site()
    for name in ("nobody", "nopass", ""):
        form = {"username": name, "password": PASSWORD}
        async with s.session.post(s.url("/login"), data=form, allow_redirects=False) as r:
            assert r.status == 401


async def test_the_token_is_never_logged(site: MakeSite, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    s = await site()
    token = s.guard.token
    assert token is not None
    async with s.session.get(s.url(f"/?token={token}x"), allow_redirects=False) as r:
        assert r.status == 403
    async with s.session.get(s.url(f"/?token={token}"), allow_redirects=False) as r:
        assert r.status == 303
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "token" in logged  # the login was logged ...
    assert token not in logged  # ... without the token


async def test_a_websocket_from_another_sites_page_is_refused_even_without_login(site: MakeSite) -> None:
    s = await site(login_required=False)
    for origin in ("http://evil.example", "null", f"{s.base}.evil.example"):
        with pytest.raises(WSServerHandshakeError) as refused:
            await s.session.ws_connect(s.url("/ws"), headers={"Origin": origin})
        assert refused.value.status == 403
    assert not s.console.consoles


async def test_on_loopback_a_rebound_host_name_is_refused(site: MakeSite) -> None:
    s = await site(login_required=False)
    async with s.session.get(s.url("/"), headers={"Host": "attacker.example"}) as r:
        assert r.status == 403
    async with s.session.get(s.url("/"), headers={"Host": "localhost"}) as r:
        assert r.status == 200


async def test_a_login_form_posted_from_another_site_is_refused(site: MakeSite, engine: Engine) -> None:
    users.add_user(engine, "operator", password=PASSWORD)
    s = await site()
    form = {"username": "operator", "password": PASSWORD}
    headers = {"Origin": "http://evil.example"}
    async with s.session.post(s.url("/login"), data=form, allow_redirects=False, headers=headers) as r:
        assert r.status == 403
        assert "Set-Cookie" not in r.headers
