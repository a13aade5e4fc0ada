"""Relay test servers shared by the session and CLI tests: an aiosmtpd server
that records AUTH mechanisms (EHLO names: every SmtpServer) and speaks XOAUTH2 (checking the
bearer token), and a real OAuth2 client-credentials token endpoint
(http.server on 127.0.0.1, port 0)."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.smtpd import SmtpServer

CLIENT_SECRET = "oauth-Client-S3cret"
USER = "ops@example.com"


class RelayServer(SmtpServer):
    """Records the AUTH mechanisms used (and, as every SmtpServer, the EHLO
    names); speaks XOAUTH2, accepting only the bearer tokens in ``tokens``."""

    def __init__(self) -> None:
        super().__init__("plain", auth={"u": "pw"})
        self.mechanisms: list[str] = []
        self.tokens: set[str] = set()
        self.bearers: list[str] = []

    def _authenticator(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        self.mechanisms.append(mechanism)
        if isinstance(data, LoginPassword):
            return super()._authenticator(server, session, envelope, mechanism, data)
        return AuthResult(success=False, handled=False)

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        self.mechanisms.append("XOAUTH2")
        fields = dict(part.split("=", 1) for part in base64.b64decode(args[1]).decode().split("\x01") if "=" in part)
        bearer = fields.get("auth", "").removeprefix("Bearer ")
        self.bearers.append(bearer)
        ok = fields.get("user") == USER and bearer in self.tokens
        return AuthResult(success=ok, handled=False)


class TokenEndpoint:
    """A client-credentials token endpoint: grants ``tok-N`` to the right client."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.expires_in = expires_in
        self.grants: list[dict[str, list[str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                outer.grants.append(form)
                body: dict[str, object]
                if form.get("client_secret") != [CLIENT_SECRET] or form.get("grant_type") != ["client_credentials"]:
                    status, body = 401, {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"}
                else:
                    status = 200
                    body = {"access_token": f"tok-{len(outer.grants)}", "expires_in": outer.expires_in}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tenant/oauth2/v2.0/token"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
