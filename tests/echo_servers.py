"""Servers that echo a secret back, for the secret tests: an aiosmtpd relay
that quotes the client's AUTH XOAUTH2 line in its 535, and a real OAuth2
token endpoint (http.server on 127.0.0.1, port 0) whose answers a test
writes; ``leaks`` finds any telling piece of a secret in a text."""

from __future__ import annotations

import base64
import json
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, quote_plus

from aiosmtpd.smtp import AuthResult

from tests.relay_servers import RelayServer

# A bearer token as Microsoft's endpoint gives one: long, base64url.
TOKEN = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + "eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlLmNvbSJ9" * 3 + ".c2lnbmF0dXJl"
)
# Mailbox names of three lengths: the token then starts at each of the three
# offsets a base64 blob can give it ("user=NAME\x01auth=Bearer TOKEN…").
USERS = ("ops@example.com", "ops1@example.com", "ops12@example.com")
# A client secret with characters that a form body, JSON and base64 each write otherwise.
SECRET = 'Xy8~q+Rk/7"z=w&p m%Ö'


def leaks(text: str, secret: str) -> list[str]:
    """Each telling form of ``secret`` found in ``text``: any 12 characters of
    it raw, form-encoded or JSON-escaped, or of its base64 at any offset."""
    written: tuple[str, ...] = (secret, quote_plus(secret), quote(secret, safe=""), json.dumps(secret)[1:-1])
    raw = secret.encode()
    written += tuple(base64.b64encode(bytes(pad) + raw).decode()[4:-4] for pad in range(3))
    forms = {form[i : i + 12] for form in written for i in range(len(form) - 11)}
    return sorted(form for form in forms if form in text)


class EchoingRelay(RelayServer):
    """Refuses XOAUTH2 with a 535 that quotes the client's AUTH line back."""

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        self.mechanisms.append("XOAUTH2")
        return AuthResult(success=False, handled=False, message=f"535 5.7.8 rejected: {args[1]}")


class Endpoint:
    """A real token endpoint (http.server on 127.0.0.1, port 0; https with
    ``tls``) that answers every grant with ``answer(form body) -> (status,
    content type, body)``; ``bodies`` are the requests it read."""

    def __init__(self, answer: Callable[[bytes], tuple[int, str, bytes]], tls: ssl.SSLContext | None = None) -> None:
        self.bodies: list[bytes] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.bodies.append(body)
                status, kind, data = answer(body)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:  # https: the handshake when a request is read, so a refused one stops no other
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}/tenant/oauth2/v2.0/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def granting(body: bytes) -> tuple[int, str, bytes]:
    return 200, "application/json", json.dumps({"access_token": TOKEN, "expires_in": 3600}).encode()
