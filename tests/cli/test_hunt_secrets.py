"""Secrets through the command line's new paths: `mta probe` and `mta test
--host` print the Test's steps, which quote the server (an echoed password
must not be in them, text or JSON); a Token URL is stored, listed and logged
as it is, so it may carry no credentials and no second host that a parser
would read differently."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Run, listed
from tests.smtp.hostile import ECHO_535, PASSWORD, SECRET_FORMS, USER, hostile_server


@pytest.mark.parametrize("json_out", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("command", ["probe", "test"])
@pytest.mark.usefixtures("ready")
def test_a_password_the_server_echoes_is_in_no_step_of_probe_or_test(run: Run, command: str, json_out: bool) -> None:
    stage = "AUTH"
    with hostile_server({stage: ECHO_535}) as srv:
        args = ["mta", command, "--host", "127.0.0.1", "--port", str(srv.port), "--timeout", "5"]
        args += ["--username", USER, "--password-stdin", *(["--json"] if json_out else [])]
        res = run(*args, *(["--to", "ops@example.com"] if command == "test" else []), input=PASSWORD + "\n")
    assert res.exit_code == 1, res.output
    out = res.stdout + res.stderr
    assert "you sent <redacted>" in out  # the auth step says what the server said…
    assert [form for form in SECRET_FORMS if form in out] == []  # …without the password


TOKEN_URL_CREDENTIALS = "Token URL must not contain a user name or password"
TOKEN_URL_HTTPS = "Token URL must be an https:// address"


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        ("https://app-1:Cl1ent-S3cret@login.example.com/tenant/token", TOKEN_URL_CREDENTIALS),
        ("https://app-1@login.example.com/tenant/token", TOKEN_URL_CREDENTIALS),
        # http:// is for this host only; each of these sends the secret in clear to evil.example
        ("http://evil.example?@127.0.0.1/token", TOKEN_URL_HTTPS),
        ("http://evil.example#@localhost/token", TOKEN_URL_HTTPS),
        ("http://127.0.0.1@evil.example/token", TOKEN_URL_HTTPS),
        ("http://evil.example\\@127.0.0.1/token", TOKEN_URL_HTTPS),
        ("https://login.example.com:abc/token", TOKEN_URL_HTTPS),  # (httpx: InvalidURL, not an HTTPError)
        ("https://login.example.com:99999/token", TOKEN_URL_HTTPS),
    ],
)
def test_a_token_url_with_credentials_or_another_host_is_refused(run: Run, url: str, sentence: str) -> None:
    oauth = ["--username", "ops@example.com", "--password-stdin", "--auth-mechanism", "xoauth2"]
    oauth += ["--oauth-client-id", "app-1", "--oauth-token-url", url]
    for args in (
        ["mta", "add", "--description", "M365", "--host", "smtp.example.com", "--starttls", *oauth],
        ["mta", "test", "--host", "smtp.example.com", "--starttls", "--to", "ops@example.com", *oauth],
        ["mta", "probe", "--host", "smtp.example.com", "--starttls", *oauth],
    ):
        res = run(*args, input="the-client-secret\n")
        assert res.exit_code == 2, (args, res.output)
        assert res.stderr.startswith("ertui: ") and sentence in res.stderr, res.stderr
        assert "Cl1ent-S3cret" not in res.output and "Traceback" not in res.output
    assert listed(run) == []
    assert run("mta", "add", "--description", "M365", "--host", "smtp.example.com").exit_code == 0
    res = run("mta", "edit", "M365", *oauth, input="the-client-secret\n")
    assert res.exit_code == 2 and sentence in res.stderr
    (row,) = listed(run)
    assert row["oauth_token_url"] is None and row["use_auth"] is False  # the edit wrote nothing
