"""The session's relay settings against real servers: the EHLO name, the AUTH
mechanism, and XOAUTH2 with a real local OAuth2 token endpoint (http.server on
127.0.0.1) and an aiosmtpd server that checks the bearer token."""

from __future__ import annotations

from typing import Any

import pytest

from ertui.mta_rules import AuthMechanism
from ertui.smtp.outcome import ErrorKind, MtaConfig
from ertui.smtp.session import SmtpSession
from ertui.smtp.transcript import Transcript
from tests.relay_servers import CLIENT_SECRET, USER, RelayServer, TokenEndpoint


def config(port: int, **kw: Any) -> MtaConfig:
    return MtaConfig(host="127.0.0.1", port=port, timeout=10.0, **kw)


def oauth_config(port: int, url: str, secret: str = CLIENT_SECRET) -> MtaConfig:
    return config(
        port,
        use_auth=True,
        username=USER,
        auth_mechanism=AuthMechanism.XOAUTH2,
        oauth_token_url=url,
        oauth_client_id="app-1",
        oauth_scope="https://outlook.office365.com/.default",
        oauth_secret=secret,
    )


async def send_one(cfg: MtaConfig, transcript: Transcript | None = None) -> Any:
    async with SmtpSession(cfg, "mail.example.org", transcript=transcript) as session:
        return await session.send("a@example.org", "b@example.com", b"Subject: t\r\n\r\nhi\r\n")


async def test_ehlo_gives_the_host_name_by_default_and_the_mta_name_when_set(relay: RelayServer) -> None:
    assert (await send_one(config(relay.port))).ok
    assert (await send_one(config(relay.port, ehlo_name="out.example.net"))).ok
    assert relay.ehlo_names == ["mail.example.org", "out.example.net"]


@pytest.mark.parametrize(
    ("mechanism", "used"),
    [(AuthMechanism.AUTO, "PLAIN"), (AuthMechanism.LOGIN, "LOGIN"), (AuthMechanism.PLAIN, "PLAIN")],
)
async def test_the_auth_mechanism_is_the_one_asked_for(relay: RelayServer, mechanism: AuthMechanism, used: str) -> None:
    cfg = config(relay.port, use_auth=True, username="u", password="pw", auth_mechanism=mechanism)
    assert (await send_one(cfg)).ok
    assert relay.mechanisms == [used]


async def test_a_mechanism_the_server_does_not_offer_is_a_sentence(relay: RelayServer) -> None:
    cfg = config(relay.port, use_auth=True, username="u", password="pw", auth_mechanism=AuthMechanism.CRAM_MD5)
    outcome = await send_one(cfg)
    assert outcome.kind == ErrorKind.AUTH_UNSUPPORTED
    assert "CRAM-MD5" in outcome.message and relay.mechanisms == []


async def test_xoauth2_gets_a_token_caches_it_and_the_server_checks_it(
    relay: RelayServer, endpoint: TokenEndpoint
) -> None:
    relay.tokens = {"tok-1"}
    cfg = oauth_config(relay.port, endpoint.url)
    transcript = Transcript()
    outcome = await send_one(cfg, transcript)
    assert outcome.ok, outcome
    assert relay.bearers == ["tok-1"] and len(relay.received) == 1
    (grant,) = endpoint.grants
    assert grant["client_id"] == ["app-1"] and grant["scope"] == ["https://outlook.office365.com/.default"]
    assert (await send_one(cfg)).ok  # the cached token: no second grant
    assert len(endpoint.grants) == 1 and relay.bearers == ["tok-1", "tok-1"]
    text = "\n".join(transcript.lines)
    assert "AUTH XOAUTH2 <redacted>" in text and "tok-1" not in text and CLIENT_SECRET not in text


async def test_an_expired_token_is_renewed_on_the_next_connection(relay: RelayServer, endpoint: TokenEndpoint) -> None:
    endpoint.expires_in = 0  # expired as soon as it is given
    relay.tokens = {"tok-1", "tok-2"}
    cfg = oauth_config(relay.port, endpoint.url)
    assert (await send_one(cfg)).ok
    assert (await send_one(cfg)).ok
    assert relay.bearers == ["tok-1", "tok-2"] and len(endpoint.grants) == 2


async def test_a_refused_grant_is_an_oauth_token_failure_with_the_endpoint_text(
    relay: RelayServer, endpoint: TokenEndpoint
) -> None:
    outcome = await send_one(oauth_config(relay.port, endpoint.url, secret="wrong"))
    assert not outcome.ok and outcome.kind == ErrorKind.OAUTH_TOKEN and outcome.configuration
    assert "HTTP 401" in outcome.message and "AADSTS7000215: bad secret" in outcome.message
    assert "Client secret" in outcome.hint
    assert relay.mechanisms == []  # no AUTH was tried without a token
    assert "wrong" not in outcome.message + outcome.hint


async def test_a_token_the_smtp_server_refuses_says_so_and_is_asked_again(
    relay: RelayServer, endpoint: TokenEndpoint
) -> None:
    cfg = oauth_config(relay.port, endpoint.url)
    outcome = await send_one(cfg)  # relay.tokens is empty: tok-1 refused
    assert outcome.kind == ErrorKind.AUTH_FAILED and outcome.code == 535
    assert "refused the OAuth2 access token" in outcome.hint
    relay.tokens = {"tok-2"}
    assert (await send_one(cfg)).ok  # the refused token was dropped: a new grant
    assert relay.bearers == ["tok-1", "tok-2"]
