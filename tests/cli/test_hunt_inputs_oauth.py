"""A hostile OAuth2 token endpoint (a real HTTP server on 127.0.0.1, port 0)
seen through `mta probe|test --host`: its error text is terminal-safe in text
mode and exact in --json; a lifetime that is no number of seconds still grants."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine

from ertui.cli import cli
from ertui.smtp import oauth
from tests.relay_servers import USER, RelayServer

HOSTILE = "\x1b]0;PWNED\x07\x1b[2J\x9b31m\u202eRED\x1b]8;;http://evil.example/\x07click"


class Endpoint:
    """A token endpoint on 127.0.0.1 (port 0) that answers every grant with ``status`` and ``body``."""

    def __init__(self, status: int, body: bytes) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def grant_through(db_url: str, relay: RelayServer, command: str, status: int, body: bytes, *more: str) -> Result:
    endpoint = Endpoint(status, body)
    try:
        args = ["--host", "127.0.0.1", "--port", str(relay.port), "--username", USER, "--auth-mechanism", "xoauth2"]
        args += ["--oauth-token-url", endpoint.url, "--oauth-client-id", "app-1", "--password-stdin", *more]
        extra = ["--to", "ops@example.net"] if command == "test" else []
        return CliRunner().invoke(cli, ["--db", db_url, "mta", command, *args, *extra], input="client-S3cret-x\n")
    finally:
        endpoint.close()


def strings(data: Any) -> Iterator[str]:
    """Every string in a JSON document."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from strings(value)


@pytest.fixture(autouse=True)
def _no_token_carried_over() -> Iterator[None]:
    yield
    oauth._cache.clear()


@pytest.mark.parametrize("command", ["probe", "test"])
@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, json.dumps({"error": "invalid_client" + HOSTILE, "error_description": HOSTILE}).encode()),
        (500, b"oops " + HOSTILE.encode() + b" \xff\xfe"),
    ],
    ids=["json-error", "text-error"],
)
def test_a_token_endpoint_error_is_safe_in_text_and_exact_in_json(
    ready: Engine, db_url: str, relay: RelayServer, command: str, status: int, body: bytes
) -> None:
    text = grant_through(db_url, relay, command, status, body, "--transcript")
    assert text.exit_code == 1 and "oauth_token" in text.output, text.output
    assert "Traceback" not in text.output
    assert not any(ch in text.output for ch in "\x1b\x07\x9b\u202e")
    assert "\\x1b]0;PWNED\\x07" in text.output  # shown, as visible escapes
    as_json = grant_through(db_url, relay, command, status, body, "--json")
    assert as_json.exit_code == 1
    assert any("\x1b]0;PWNED\x07\x1b[2J\x9b31m\u202eRED" in s for s in strings(json.loads(as_json.stdout)))
    assert relay.mechanisms == []  # no AUTH without a token


@pytest.mark.parametrize("command", ["probe", "test"])
@pytest.mark.parametrize(
    "expires_in", [b"1" + b"0" * 400, b"1e400", b"-1e400", b"NaN", b'"soon"', b"null"], ids=lambda b: b.decode()[:8]
)
def test_a_token_lifetime_that_is_no_number_of_seconds_still_grants(
    ready: Engine, db_url: str, relay: RelayServer, command: str, expires_in: bytes
) -> None:
    """An integer too large for a float ended the grant in 'protocol: unexpected
    failure during auth: int too large to convert to float'."""
    relay.tokens = {"tok-1"}
    result = grant_through(db_url, relay, command, 200, b'{"access_token": "tok-1", "expires_in": ' + expires_in + b"}")
    assert result.exit_code == 0, result.output
    assert relay.bearers == ["tok-1"]
