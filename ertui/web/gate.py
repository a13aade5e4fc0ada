"""The aiohttp middleware in front of every route of the served console, and the login page.

textual-serve has no authentication of its own; this middleware runs before
its page (``/``), its websocket (``/ws``), its static files and downloads, so
nothing reaches a console process without a session. It also refuses a
websocket opened from another site's page (its ``Origin``) and, on a loopback
address, a request for a host name that is not loopback (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from yarl import URL

from ertui.errors import ErtuiError
from ertui.termsafe import terminal_safe
from ertui.web.auth import SESSION_COOKIE, Guard, shown_name

log = logging.getLogger("ertui.web")

LOGIN_PATH = "/login"
WEBSOCKET_PATH = "/ws"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ertui — log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ background: #0c181f; color: #e0e0e0; font-family: monospace; display: flex;
       justify-content: center; margin-top: 12vh; }}
form {{ background: #12232d; padding: 2em 2.5em; min-width: 22em; }}
label {{ display: block; margin-top: 1em; }}
input {{ width: 100%; font: inherit; padding: .3em; }}
button {{ margin-top: 1.5em; font: inherit; padding: .3em 1.2em; }}
p.error {{ color: #ff8a80; }}
</style></head><body>
<form method="post" action="{action}">
<h1>ertui</h1>
<p>Log in with an ertui user, or open the link that <code>ertui serve</code> printed.</p>
{message}
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" autofocus required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form></body></html>
"""


def login_page(status: int, message: str | None = None, headers: dict[str, str] | None = None) -> web.Response:
    note = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    return web.Response(
        status=status,
        text=_PAGE.format(action=LOGIN_PATH, message=note),
        content_type="text/html",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def client_of(request: web.Request) -> str:
    return request.remote or "unknown"


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _origin_of(url: URL) -> tuple[str, str, int | None]:
    return ((url.scheme or "").lower(), (url.host or "").lower(), url.port)


class Gate:
    """The checks, given the guard and the origins the page may be served from."""

    def __init__(self, guard: Guard, *, loopback_only: bool, public_url: str | None = None) -> None:
        self.guard = guard
        self.loopback_only = loopback_only
        self.public = URL(public_url) if public_url else None

    # -- where a request may come from ----------------------------------------
    def host_allowed(self, request: web.Request) -> bool:
        """On a loopback address only loopback host names (a rebound DNS name is refused)."""
        if not self.loopback_only:
            return True
        host = (request.url.host or "").lower()
        return is_loopback(host) or (self.public is not None and host == (self.public.host or "").lower())

    def origin_allowed(self, request: web.Request) -> bool:
        """A browser names the page that opens a websocket or posts a form: it must be ours."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser page: the session cookie still decides
        try:
            got = _origin_of(URL(origin))
        except ValueError:
            return False
        allowed = {_origin_of(request.url.with_scheme("http")), _origin_of(request.url.with_scheme("https"))}
        if self.public is not None:
            allowed.add(_origin_of(self.public))
        return got in allowed

    # -- the middleware ---------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.host_allowed(request):
            log.warning("refused a request for host %s from %s", terminal_safe(request.host), client_of(request))
            return web.Response(status=403, text="This server answers on a loopback address only.\n")
        if (request.path == WEBSOCKET_PATH or request.method == "POST") and not self.origin_allowed(request):
            log.warning("refused a request from another site's page (%s) from %s", request.path, client_of(request))
            return web.Response(status=403, text="Refused: this request came from another site's page.\n")
        response = await self._checked(request, handler)
        if not response.prepared:  # a websocket has sent its headers already
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
            response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    async def _checked(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        guard = self.guard
        if not guard.login_required or request.path == LOGIN_PATH:
            return await handler(request)
        if "token" in request.query:
            return self._token_login(request)
        if guard.valid_session(request.cookies.get(SESSION_COOKIE)):
            return await handler(request)
        if request.path == "/" and request.method == "GET":
            return login_page(401)
        status = 403 if request.path == WEBSOCKET_PATH else 401
        return web.Response(status=status, text="Log in first: open / in a browser.\n")

    def _token_login(self, request: web.Request) -> web.StreamResponse:
        client = client_of(request)
        wait = self.guard.retry_after(client)
        if wait:
            return _throttled(wait, client, None)
        if not self.guard.spend_token(request.query.get("token", ""), client):
            return login_page(403, "That link's token is wrong or was already used: log in with an ertui user.")
        # the token leaves the address bar (and any Referer) at once
        return self._logged_in(request.rel_url.without_query_params("token"))

    def _logged_in(self, location: URL) -> web.Response:
        response = web.Response(status=303, headers={"Location": str(location), "Cache-Control": "no-store"})
        response.set_cookie(
            SESSION_COOKIE,
            self.guard.new_session(),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self.guard.secure_cookie,
        )
        return response

    # -- the login page ---------------------------------------------------------
    async def login_form(self, request: web.Request) -> web.StreamResponse:
        if not self.guard.login_required or self.guard.valid_session(request.cookies.get(SESSION_COOKIE)):
            raise web.HTTPSeeOther("/")
        return login_page(200)

    async def login(self, request: web.Request) -> web.StreamResponse:
        if not self.guard.login_required:
            raise web.HTTPSeeOther("/")
        form = await request.post()
        username, password = (str(form.get(name, "")) for name in ("username", "password"))
        client = client_of(request)
        wait = self.guard.retry_after(client, username)
        if wait:
            return _throttled(wait, client, username)
        try:
            ok = await asyncio.to_thread(self.guard.check_password, username, password, client)
        except ErtuiError as exc:
            return login_page(503, str(exc))
        if not ok:
            return login_page(401, "Wrong user name or password.")
        return self._logged_in(URL("/"))

    def routes(self) -> Iterable[web.RouteDef]:
        return [web.get(LOGIN_PATH, self.login_form), web.post(LOGIN_PATH, self.login)]


def _throttled(wait: float, client: str, username: str | None) -> web.Response:
    seconds = max(1, round(wait))
    who = f" as {shown_name(username.strip())}" if username else ""
    log.warning("throttled a login%s from %s: too many failures", who, client)
    return login_page(
        429,
        f"Too many failed logins: try again in {seconds} s.",
        headers={"Retry-After": str(seconds)},
    )
