"""Secrets on the relay's new paths, against real servers: an SMTP server or an
OAuth2 token endpoint that echoes a secret back — in clear, in the base64 of
the AUTH line (PLAIN, XOAUTH2) or form-encoded — never has it reach a Test
step, a transcript or an Outcome (which the worker logs and stores)."""

from __future__ import annotations

import base64
import html
import json
import ssl
from collections.abc import Callable, Iterator
from dataclasses import replace
from urllib.parse import parse_qs, quote, quote_plus

import pytest

from ertui.mta_rules import AuthMechanism
from ertui.smtp import oauth, probe
from ertui.smtp.outcome import ErrorKind, MtaConfig, ProbeResult
from ertui.smtp.session import SmtpSession
from ertui.smtp.transcript import Redactor, Transcript
from tests.echo_servers import SECRET, TOKEN, USERS, EchoingRelay, Endpoint, granting, leaks
from tests.relay_servers import USER, RelayServer
from tests.smtp.hostile import PASSWORD, PLAIN, SECRET_FORMS, hostile_server

HELO = "mail.example.org"
MSG = b"From: a@example.org\r\nTo: b@example.com\r\nSubject: t\r\n\r\nhi\r\n"


def everything(result: ProbeResult) -> str:
    o = result.outcome
    steps = [f"{s.name} {s.detail} {s.warning}" for s in result.steps]
    return "\n".join([o.message, o.hint, o.summary, *result.transcript, *steps])


# -- the Test's steps quote the server: redacted like the transcript -----------------


@pytest.mark.parametrize("stage", ["AUTH", "MAIL", "RCPT", "DATA"])
async def test_a_password_echoed_at_any_step_is_in_no_step_detail(stage: str) -> None:
    reply = f"{'535' if stage == 'AUTH' else '554'} 5.7.8 you sent {PLAIN} which is |alice|{PASSWORD}\r\n"
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


@pytest.fixture
def clean_cache() -> Iterator[None]:
    oauth._cache.clear()
    yield
    oauth._cache.clear()


def oauth_cfg(port: int, url: str, secret: str = SECRET, user: str = USER) -> MtaConfig:
    return MtaConfig(
        "127.0.0.1",
        port,
        timeout=10.0,
        use_auth=True,
        username=user,
        auth_mechanism=AuthMechanism.XOAUTH2,
        oauth_token_url=url,
        oauth_client_id="app-1",
        oauth_scope="https://outlook.office365.com/.default",
        oauth_secret=secret,
    )


@pytest.mark.usefixtures("clean_cache")
@pytest.mark.parametrize("user", USERS)
async def test_an_echoed_xoauth2_line_gives_away_no_token(user: str) -> None:
    endpoint = Endpoint(granting)
    try:
        with EchoingRelay() as relay:
            cfg = oauth_cfg(relay.port, endpoint.url, user=user)
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
    for form in (SECRET, quote_plus(SECRET), quote(SECRET, safe=""), json.dumps(SECRET)[1:-1], html.escape(SECRET)):
        assert redactor.scrub(f"a {form} b") == "a <redacted> b", form
    assert Transcript([SECRET]).scrub(json.dumps({"s": SECRET})) == '{"s": "<redacted>"}'


def created(body: bytes) -> tuple[int, str, bytes]:
    """A token, but not in a 200 answer: refused, and the token is not shown."""
    return 201, "application/json", json.dumps({"access_token": TOKEN, "token_type": "Bearer"}).encode()


@pytest.mark.usefixtures("clean_cache")
async def test_a_refused_answer_that_carries_a_token_does_not_show_it() -> None:
    endpoint = Endpoint(created)
    try:
        with RelayServer() as relay:
            tested = await probe.check_connection(oauth_cfg(relay.port, endpoint.url), HELO)
    finally:
        endpoint.close()
    assert tested.outcome.kind == ErrorKind.OAUTH_TOKEN and "(HTTP 201)" in tested.outcome.message
    assert leaks(everything(tested), TOKEN) == []


# -- the token endpoint's certificate -----------------------------------------------------


@pytest.mark.usefixtures("clean_cache")
async def test_the_token_endpoint_is_verified_even_when_the_mta_is_not(server_ssl_ctx: ssl.SSLContext) -> None:
    """Verify TLS off is about the SMTP server (a self-signed relay): the client
    secret still goes to no endpoint whose certificate is not trusted."""
    endpoint = Endpoint(granting, tls=server_ssl_ctx)
    try:
        with RelayServer() as relay:
            cfg = replace(oauth_cfg(relay.port, endpoint.url), verify_tls=False)
            async with SmtpSession(cfg, HELO) as session:
                outcome = await session.open()
    finally:
        endpoint.close()
    assert outcome.kind == ErrorKind.OAUTH_TOKEN and "cannot be reached" in outcome.message, outcome
    assert endpoint.bodies == [] and relay.mechanisms == []  # the client secret was never sent


@pytest.mark.usefixtures("clean_cache", "trust_ca")
async def test_a_token_endpoint_of_a_private_ca_is_trusted_through_ssl_cert_file(
    server_ssl_ctx: ssl.SSLContext,
) -> None:
    endpoint = Endpoint(granting, tls=server_ssl_ctx)
    try:
        with RelayServer() as relay:
            relay.tokens = {TOKEN}
            async with SmtpSession(oauth_cfg(relay.port, endpoint.url), HELO) as session:
                outcome = await session.send("a@example.org", "b@example.com", MSG)
    finally:
        endpoint.close()
    assert outcome.ok, outcome
    assert len(endpoint.bodies) == 1 and relay.bearers == [TOKEN]


@pytest.mark.usefixtures("clean_cache")
async def test_an_http_token_endpoint_on_this_host_is_reached_without_the_environment_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """http:// is allowed for this host only, so the secret crosses no network in
    clear: an HTTP_PROXY in the environment must not carry the grant."""
    proxy = Endpoint(granting)  # a "proxy" that would read the form in clear
    endpoint = Endpoint(granting)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy.url.split("/tenant/", 1)[0])
    try:
        with RelayServer() as relay:
            relay.tokens = {TOKEN}
            async with SmtpSession(oauth_cfg(relay.port, endpoint.url), HELO) as session:
                outcome = await session.send("a@example.org", "b@example.com", MSG)
    finally:
        endpoint.close()
        proxy.close()
    assert outcome.ok, outcome
    assert proxy.bodies == [] and len(endpoint.bodies) == 1
