"""Secrets on the relay's new paths, against real servers: an SMTP server or an
OAuth2 token endpoint that echoes a secret back — in clear, in the base64 of
the AUTH line (PLAIN, XOAUTH2) or form-encoded — never has it reach a Test
step, a transcript or an Outcome (which the worker logs and stores)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus

import pytest
from aiosmtpd.smtp import AuthResult

from ertui.mta_rules import AuthMechanism
from ertui.smtp import oauth, probe
from ertui.smtp.outcome import ErrorKind, MtaConfig, ProbeResult
from ertui.smtp.session import SmtpSession
from ertui.smtp.transcript import Redactor, Transcript
from tests.relay_servers import USER, RelayServer
from tests.smtp.hostile import PASSWORD, PLAIN, SECRET_FORMS, hostile_server

HELO = "mail.example.org"
MSG = b"From: a@example.org\r\nTo: b@example.com\r\nSubject: t\r\n\r\nhi\r\n"
# A bearer token as Microsoft's endpoint gives one: long, base64url.
TOKEN = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + "eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlLmNvbSJ9" * 3 + ".c2lnbmF0dXJl"
)
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


def everything(result: ProbeResult) -> str:
    o = result.outcome
    steps = [f"{s.name} {s.detail} {s.warning}" for s in result.steps]
    return "\n".join([o.message, o.hint, o.summary, *result.transcript, *steps])


# -- the Test's steps quote the server: redacted like the transcript -----------------


@pytest.mark.parametrize("stage", ["AUTH", "MAIL", "RCPT", "DATA"])
async def test_a_password_echoed_at_any_step_is_in_no_step_detail(stage: str) -> None:
    reply = f"{'535' if stage == 'AUTH' else '554'} 5.7.8 you sent {PLAIN} which is |{USER}|{PASSWORD}\r\n"
    with hostile_server({stage: reply}) as srv:
        cfg = MtaConfig("127.0.0.1", srv.port, timeout=5.0, use_auth=True, username="alice", password=PASSWORD)
        results = [await probe.send_test(cfg, "a@example.org", "b@example.com", HELO)]
        if stage == "AUTH":
            results.append(await probe.check_connection(cfg, HELO))  # `mta probe`, doctor
    for result in results:
        failed = [s for s in result.steps if not s.ok]
        assert failed and "<redacted>" in failed[0].detail, result.steps  # the step says what the server said…
        text = everything(result)
        assert [form for form in SECRET_FORMS if form in text] == []  # …without the password


# -- XOAUTH2: the access token in the AUTH line, echoed back ---------------------------


class EchoingRelay(RelayServer):
    """Refuses XOAUTH2 with a 535 that quotes the client's AUTH line back."""

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        self.mechanisms.append("XOAUTH2")
        return AuthResult(success=False, handled=False, message=f"535 5.7.8 rejected: {args[1]} (user {USER})")


class Endpoint:
    """A real token endpoint (http.server on 127.0.0.1, port 0) that answers
    every grant with ``answer(form body) -> (status, content type, body)``."""

    def __init__(self, answer: Callable[[bytes], tuple[int, str, bytes]]) -> None:
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
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tenant/oauth2/v2.0/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def granting(body: bytes) -> tuple[int, str, bytes]:
    return 200, "application/json", json.dumps({"access_token": TOKEN, "expires_in": 3600}).encode()


@pytest.fixture
def clean_cache() -> Iterator[None]:
    oauth._cache.clear()
    yield
    oauth._cache.clear()


def oauth_cfg(port: int, url: str, secret: str = SECRET) -> MtaConfig:
    return MtaConfig(
        "127.0.0.1",
        port,
        timeout=10.0,
        use_auth=True,
        username=USER,
        auth_mechanism=AuthMechanism.XOAUTH2,
        oauth_token_url=url,
        oauth_client_id="app-1",
        oauth_scope="https://outlook.office365.com/.default",
        oauth_secret=secret,
    )


@pytest.mark.usefixtures("clean_cache")
async def test_an_echoed_xoauth2_line_gives_away_no_token() -> None:
    endpoint = Endpoint(granting)
    try:
        with EchoingRelay() as relay:
            cfg = oauth_cfg(relay.port, endpoint.url)
            async with SmtpSession(cfg, HELO) as session:  # the worker's path: no transcript
                outcome = await session.send("a@example.org", "b@example.com", MSG)
            tested = await probe.send_test(cfg, "a@example.org", "b@example.com", HELO)
    finally:
        endpoint.close()
    assert relay.mechanisms == ["XOAUTH2", "XOAUTH2"]
    assert (outcome.kind, outcome.code) == (ErrorKind.AUTH_FAILED, 535)
    assert outcome.message.startswith("5.7.8 rejected: <redacted>")
    assert leaks(f"{outcome.message} {outcome.hint}", TOKEN) == []
    assert leaks(everything(tested), TOKEN) == []


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_a_token_inside_any_base64_blob_is_redacted(pad: int) -> None:
    """Whatever comes before it (another mechanism's framing, a server's own),
    the token's base64 is found at each of the three offsets it can have."""
    redactor = Redactor()
    redactor.add_secret(TOKEN, USER)
    blob = base64.b64encode(b"x" * pad + b"auth=Bearer " + TOKEN.encode() + b"\x01\x01").decode()
    assert leaks(redactor.scrub(f"535 you sent {blob}"), TOKEN) == []
    assert redactor.scrub("535 5.7.8 Authentication unsuccessful") == "535 5.7.8 Authentication unsuccessful"


# -- a token endpoint that echoes the request ------------------------------------------


def echo_form(body: bytes) -> tuple[int, str, bytes]:
    """Echoes the form body, form-encoded, with the secret across the 300th character."""
    text = body.decode()
    at = text.index("client_secret=") + len("client_secret=")
    return 400, "text/plain", ("x" * (257 - at) + "bad request: " + text).encode()


def echo_json_list(body: bytes) -> tuple[int, str, bytes]:
    """A JSON answer that is not an object: shown as text, JSON escapes and all."""
    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    return 401, "application/json", json.dumps([{"error": "invalid_client", "echo": form}]).encode()


def echo_description(body: bytes) -> tuple[int, str, bytes]:
    secret = parse_qs(body.decode())["client_secret"][0]
    answer = {"error": "invalid_client", "error_description": "AADSTS7000215: " + "x" * 253 + secret}
    return 401, "application/json", json.dumps(answer).encode()


@pytest.mark.usefixtures("clean_cache")
@pytest.mark.parametrize("answer", [echo_form, echo_json_list, echo_description])
async def test_a_token_endpoint_that_echoes_the_client_secret_shows_none_of_it(
    answer: Callable[[bytes], tuple[int, str, bytes]],
) -> None:
    endpoint = Endpoint(answer)
    try:
        with RelayServer() as relay:
            cfg = oauth_cfg(relay.port, endpoint.url)
            async with SmtpSession(cfg, HELO) as session:
                outcome = await session.open()
            tested = await probe.check_connection(cfg, HELO)
    finally:
        endpoint.close()
    assert endpoint.bodies and relay.mechanisms == []
    assert outcome.kind == ErrorKind.OAUTH_TOKEN and "refused the grant" in outcome.message
    assert leaks(f"{outcome.message} {outcome.hint}", SECRET) == []
    assert leaks(everything(tested), SECRET) == []


def test_every_written_form_of_a_secret_is_redacted() -> None:
    redactor = Redactor.for_config(MtaConfig("h", 25, use_auth=True, username=USER, password=SECRET))
    for form in (SECRET, quote_plus(SECRET), quote(SECRET, safe=""), json.dumps(SECRET)[1:-1]):
        assert redactor.scrub(f"a {form} b") == "a <redacted> b", form
    assert Transcript([SECRET]).scrub(json.dumps({"s": SECRET})) == '{"s": "<redacted>"}'
