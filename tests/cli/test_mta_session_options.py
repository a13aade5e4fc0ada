"""`mta test --host` and `mta probe --host` take the session's fields (EHLO
name, AUTH mechanism, XOAUTH2, PIPELINING) before the MTA is saved, through
the same ``draft_config`` as the form; real servers see what was asked."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine

from ertui import mtas
from ertui.cli import cli
from ertui.mta_rules import DEFAULT_OAUTH_SCOPE
from tests.relay_servers import CLIENT_SECRET, USER, RelayServer, TokenEndpoint
from tests.smtpd import SmtpServer

TO = "ops@example.net"


def mta(db_url: str, command: str, *args: str, stdin: str | None = None) -> Result:
    extra = ["--to", TO] if command == "test" else []
    return CliRunner().invoke(cli, ["--db", db_url, "mta", command, *args, *extra], input=stdin)


def host(port: int) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(port)]


def xoauth2(url: str) -> list[str]:
    return ["--username", USER, "--auth-mechanism", "xoauth2", "--oauth-token-url", url, "--oauth-client-id", "app-1"]


@pytest.mark.parametrize("command", ["probe", "test"])
def test_the_ehlo_name_given_is_the_one_the_server_sees(
    ready: Engine, db_url: str, relay: RelayServer, command: str
) -> None:
    default = mta(db_url, command, *host(relay.port))
    named = mta(db_url, command, *host(relay.port), "--ehlo-name", "Out.Example.net")
    assert default.exit_code == 0, default.output
    assert named.exit_code == 0, named.output
    assert relay.ehlo_names == ["mail.example.org", "out.example.net"]
    assert len(relay.received) == (2 if command == "test" else 0)


@pytest.mark.parametrize(("mechanism", "used"), [("plain", "PLAIN"), ("login", "LOGIN"), ("LOGIN", "LOGIN")])
@pytest.mark.parametrize("command", ["probe", "test"])
def test_the_auth_mechanism_given_is_the_one_the_server_sees(
    ready: Engine, db_url: str, relay: RelayServer, command: str, mechanism: str, used: str
) -> None:
    args = [*host(relay.port), "--username", "u", "--password-stdin", "--auth-mechanism", mechanism]
    result = mta(db_url, command, *args, stdin="pw\n")
    assert result.exit_code == 0, result.output
    assert relay.mechanisms == [used]


@pytest.mark.parametrize("command", ["probe", "test"])
def test_xoauth2_gets_a_token_from_the_endpoint_and_the_server_checks_it(
    ready: Engine, db_url: str, relay: RelayServer, endpoint: TokenEndpoint, command: str
) -> None:
    relay.tokens = {"tok-1"}
    args = [*host(relay.port), *xoauth2(endpoint.url), "--password-stdin", "--json", "--transcript"]
    result = mta(db_url, command, *args, stdin=CLIENT_SECRET + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True
    assert relay.mechanisms == ["XOAUTH2"] and relay.bearers == ["tok-1"]
    (grant,) = endpoint.grants
    assert grant["client_id"] == ["app-1"] and grant["scope"] == [DEFAULT_OAUTH_SCOPE]
    assert CLIENT_SECRET not in result.output and "tok-1" not in result.output
    assert mtas.list_mtas(ready) == []  # nothing saved


def test_xoauth2_scope_given_and_a_refused_secret_is_an_oauth_token_failure(
    ready: Engine, db_url: str, relay: RelayServer, endpoint: TokenEndpoint
) -> None:
    args = [*host(relay.port), *xoauth2(endpoint.url), "--oauth-scope", "smtp.send", "--password-stdin"]
    result = mta(db_url, "probe", *args, stdin="wrong-secret\n")
    assert result.exit_code == 1, result.output
    assert "oauth_token" in result.output and "AADSTS7000215" in result.output
    assert endpoint.grants[0]["scope"] == ["smtp.send"]
    assert relay.mechanisms == [] and "wrong-secret" not in result.output


@pytest.fixture
def piped_server() -> Iterator[SmtpServer]:
    with SmtpServer("plain", pipelining=True) as srv:
        yield srv


def test_no_pipelining_sends_one_command_at_a_time(ready: Engine, db_url: str, piped_server: SmtpServer) -> None:
    def transcript(*args: str) -> list[str]:
        result = mta(db_url, "test", *host(piped_server.port), *args, "--json")
        assert result.exit_code == 0, result.output
        return [line for line in json.loads(result.stdout)["transcript"] if line.startswith("* PIPELINING")]

    assert transcript()[0].startswith("* PIPELINING: MAIL FROM")
    assert transcript("--no-pipelining") == ["* PIPELINING: offered by the server, turned off for this MTA"]
    assert len(piped_server.received) == 2


@pytest.mark.parametrize("command", ["probe", "test"])
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--auth-mechanism", "ntlm"], "Auth mechanism must be one of auto, plain, login, cram-md5, xoauth2."),
        (["--auth-mechanism", ""], "--auth-mechanism"),
        (["--ehlo-name", "not a name"], "EHLO name"),
        (["--auth-mechanism", "login"], "--auth-mechanism login needs --username (the login)."),
        (["--auth-mechanism", "xoauth2", "--oauth-client-id", "a"], "--auth-mechanism xoauth2, --oauth-client-id need"),
        (["--auth-mechanism", "xoauth2", "--username", USER], "Token URL is required"),
        (["--auth-mechanism", "xoauth2", "--username", USER, "--oauth-token-url", "http://x/t"], "Client ID"),
        (
            [
                "--auth-mechanism",
                "xoauth2",
                "--username",
                USER,
                "--oauth-token-url",
                "http://x/t",
                "--oauth-client-id",
                "a",
            ],
            "Client secret is required with the xoauth2 mechanism.",
        ),
    ],
)
def test_bad_session_fields_exit_2_in_one_sentence_before_any_connection(
    ready: Engine, db_url: str, relay: RelayServer, command: str, args: list[str], words: str
) -> None:
    result = mta(db_url, command, *host(relay.port), *args)
    assert result.exit_code == 2, result.output
    assert words in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert relay.ehlo_names == [] and relay.received == []


def test_a_bad_mechanism_is_refused_before_the_secret_is_read(ready: Engine, db_url: str, relay: RelayServer) -> None:
    args = [*host(relay.port), "--username", "u", "--password-stdin", "--auth-mechanism", "xoauth3"]
    result = mta(db_url, "probe", *args, stdin="")  # an empty stdin would be "Password is empty"
    assert result.exit_code == 2
    assert "Auth mechanism must be one of" in result.stderr


@pytest.mark.parametrize(
    "flag", [["--ehlo-name", "out.example.net"], ["--auth-mechanism", "plain"], ["--no-pipelining"]]
)
def test_session_fields_only_go_with_host(ready: Engine, db_url: str, relay: RelayServer, flag: list[str]) -> None:
    mtas.add(ready, description="Relay", host="127.0.0.1", port=relay.port)
    result = mta(db_url, "probe", "Relay", *flag)
    assert result.exit_code == 2
    assert f"{flag[0]} only go with --host" in result.stderr
    assert relay.ehlo_names == []
