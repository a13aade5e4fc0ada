"""`mta add`/`mta edit` with the relay's fields (timeout, rate limit, EHLO
name, AUTH mechanism, PIPELINING, OAuth2) and their `mta list --json` keys."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from tests.cli.conftest import listed

SECRET = "client-S3cret-Ωmega"
RELAY_KEYS = {
    "timeout": 30.0,
    "rate_limit_per_minute": 0,
    "ehlo_name": None,
    "auth_mechanism": "auto",
    "pipelining": True,
    "oauth_token_url": None,
    "oauth_client_id": None,
    "oauth_scope": None,
}


def relay_view(row: dict) -> dict:  # type: ignore[type-arg]
    return {k: row[k] for k in RELAY_KEYS}


def test_a_new_mta_has_the_defaults_and_every_key(run) -> None:  # type: ignore[no-untyped-def]
    assert run("mta", "add", "--description", "Plain", "--host", "mail.example.com").exit_code == 0
    (row,) = listed(run)
    assert relay_view(row) == RELAY_KEYS


def test_add_takes_every_field_and_edit_changes_only_what_it_names(run) -> None:  # type: ignore[no-untyped-def]
    res = run(
        "mta", "add", "--description", "Relay", "--host", "mail.example.com", "--starttls",
        "--timeout", "45", "--rate-limit", "30", "--ehlo-name", "Out.Example.org", "--no-pipelining",
        "--username", "u", "--password-stdin", "--auth-mechanism", "LOGIN",
        input="pw\n",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    (row,) = listed(run)
    want = dict(RELAY_KEYS, timeout=45.0, rate_limit_per_minute=30, ehlo_name="out.example.org")
    want.update(auth_mechanism="login", pipelining=False)
    assert relay_view(row) == want
    assert run("mta", "edit", "Relay", "--rate-limit", "0").exit_code == 0
    (row,) = listed(run)
    assert relay_view(row) == dict(want, rate_limit_per_minute=0)
    assert run("mta", "edit", "Relay", "--ehlo-name", "", "--pipelining", "--timeout", "300").exit_code == 0
    (row,) = listed(run)
    assert relay_view(row) == dict(want, rate_limit_per_minute=0, ehlo_name=None, pipelining=True, timeout=300.0)
    assert row["use_auth"] and row["username"] == "u" and row["security"] == "starttls"


def test_xoauth2_reads_the_client_secret_from_stdin_and_never_shows_it(run, db_url: str) -> None:  # type: ignore[no-untyped-def]
    res = run(
        "mta", "add", "--description", "M365", "--host", "smtp.office365.com", "--starttls",
        "--username", "ops@example.com", "--password-stdin", "--auth-mechanism", "xoauth2",
        "--oauth-token-url", "https://login.example.com/tenant/oauth2/v2.0/token", "--oauth-client-id", "app-1",
        input=SECRET + "\n",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    (row,) = listed(run)
    assert row["auth_mechanism"] == "xoauth2" and row["oauth_client_id"] == "app-1"
    assert row["oauth_scope"] == "https://outlook.office365.com/.default"  # Microsoft 365's by default
    assert SECRET not in json.dumps(row)
    raw = create_engine(db_url)
    with raw.connect() as conn:
        stored = conn.execute(text("SELECT oauth_secret_enc, password_enc FROM mta")).one()
    raw.dispose()
    assert stored[0] and SECRET not in stored[0] and stored[1] is None  # vaulted, no password
    # Another scope, the secret kept.
    assert run("mta", "edit", "M365", "--oauth-scope", "https://x.example.com/.default").exit_code == 0
    (row,) = listed(run)
    assert row["oauth_scope"] == "https://x.example.com/.default" and row["oauth_token_url"].startswith("https://")


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["--timeout", "0"], "Timeout must be a number of seconds from 1 to 300."),
        (["--timeout", "301"], "Timeout must be a number of seconds from 1 to 300."),
        (["--timeout", "soon"], "Timeout must be a number of seconds from 1 to 300."),
        (["--rate-limit", "-1"], "Rate limit must be a whole number from 0 to 100000."),
        (["--ehlo-name", "localhost"], "EHLO name must be a fully qualified domain name"),
        (["--ehlo-name", "10.0.0.1"], "EHLO name must be a fully qualified domain name, not an IP address."),
        (["--auth-mechanism", "ntlm"], "Auth mechanism must be one of auto, plain, login, cram-md5, xoauth2."),
        (
            ["--username", "u", "--password-stdin", "--auth-mechanism", "xoauth2", "--oauth-client-id", "a"],
            "Token URL is required with the xoauth2 mechanism.",
        ),
        (
            ["--username", "u", "--password-stdin", "--auth-mechanism", "xoauth2", "--oauth-client-id", "a",
             "--oauth-token-url", "http://login.example.com/token"],
            "Token URL must be an https:// address",
        ),
    ],
)  # fmt: skip
def test_bad_input_is_one_sentence_exit_2_nothing_written(run, args: list[str], sentence: str) -> None:  # type: ignore[no-untyped-def]
    res = run("mta", "add", "--description", "R", "--host", "mail.example.com", *args, input="pw\n")
    assert res.exit_code == 2
    assert sentence in res.stderr
    assert "Traceback" not in res.output
    assert listed(run) == []
    assert run("mta", "add", "--description", "R", "--host", "mail.example.com").exit_code == 0
    res = run("mta", "edit", "R", *args, input="pw\n")
    assert res.exit_code == 2 and sentence in res.stderr
    (row,) = listed(run)
    assert relay_view(row) == RELAY_KEYS  # the edit wrote nothing
