"""Every CLI text output makes text from outside safe for the terminal (issue
10, item 5): `mta test` (result and transcript), `mta list`, `user list`,
`admin show`, and the error sentences that quote what was given; ``--json``
keeps the exact text. And a username on an MTA without TLS is warned about
(item 10): `mta add`/`mta edit` on stderr (exit 0, saved), the Test in its result."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text, update
from sqlalchemy.engine import Engine

from ertui import mtas, queue, settings, users
from ertui.cli import cli
from ertui.store.models import Message
from tests.smtp.hostile import ESCAPES_550, hostile_server

CONTROLS = ("\x1b", "\x07", "\u202e")
TO = "ops@example.net"


@pytest.fixture
def ready(engine: Engine) -> Engine:
    settings.set_admin_email(engine, "postmaster@example.org")
    settings.set_master_host(engine, "mail.example.org")
    return engine


def run(db_url: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args], input=input)


def clean(out: str) -> bool:
    return not any(c in out for c in CONTROLS)


def test_mta_test_text_output_and_transcript_are_safe_json_exact(ready: Engine, db_url: str) -> None:
    with hostile_server({"RCPT": ESCAPES_550}) as srv:
        args = ["mta", "test", "--host", "127.0.0.1", "--port", str(srv.port), "--to", TO]
        shown = run(db_url, *args, "--transcript")
        exact = run(db_url, *args, "--json")
    assert shown.exit_code == 1 and clean(shown.output), shown.output
    assert "Server said: 5.1.1 \\x1b]0;PWNED\\x07" in shown.output
    assert "S: 550 5.1.1 \\x1b]0;PWNED" in shown.output  # the transcript line
    data = json.loads(exact.stdout)
    assert data["message"].startswith("5.1.1 \x1b]0;PWNED\x07\x1b[2J")
    assert any("\x1b]8;;http://evil.example/\x07" in line for line in data["transcript"])


def test_stored_text_from_a_script_is_safe_in_lists(ready: Engine, db_url: str) -> None:
    mtas.add(ready, description="relay", host="127.0.0.1", port=2525, username="bob", password="pw-123456")
    users.add_user(ready, "carol", email="carol@example.com")
    with ready.begin() as conn:  # what a script could write straight into the store
        conn.execute(text("UPDATE mta SET description = 'r\x1b[2Jx\u202eY', username = 'u\x07v'"))
        conn.execute(text("UPDATE user_account SET email = 'c\x1b]0;T\x07@example.com' WHERE username = 'carol'"))
        conn.execute(text("UPDATE user_account SET username = 'adm\x1b[31m' WHERE is_default_admin"))
    for args in (["mta", "list"], ["user", "list"], ["admin", "show"]):
        res = run(db_url, *args)
        assert res.exit_code == 0 and clean(res.output), (args, res.output)
        assert "\\x1b" in res.output or "\\x07" in res.output, args
    [m] = json.loads(run(db_url, "mta", "list", "--json").stdout)
    assert m["description"] == "r\x1b[2Jx\u202eY" and m["username"] == "u\x07v"


@pytest.mark.parametrize(
    "args",
    [
        ["mta", "edit", "\x1b]0;PWNED\x07", "--enabled"],
        ["mta", "remove", "\x1b[2J\u202e", "--yes"],
        ["user", "set-email", "\x1b[2Jnobody", "a@example.com"],
    ],
)
def test_error_sentences_quoting_what_was_given_are_safe(ready: Engine, db_url: str, args: list[str]) -> None:
    res = run(db_url, *args)
    assert res.exit_code != 0 and res.stderr.startswith("ertui: ")
    assert clean(res.stderr) and "Traceback" not in res.stderr, res.stderr


# -- the warning for AUTH in clear text -------------------------------------------


def test_mta_add_and_edit_warn_of_auth_in_clear_text(ready: Engine, db_url: str) -> None:
    plain = run(
        db_url,
        *("mta", "add", "--description", "p", "--host", "h.example.com", "--username", "u", "--password-stdin"),
        input="pw-123456\n",
    )
    assert plain.exit_code == 0 and mtas.get(ready, "p").use_auth
    assert "ertui: warning:" in plain.stderr and "clear text" in plain.stderr
    assert "clear text" not in plain.stdout
    tls = run(
        db_url,
        *("mta", "add", "--description", "t", "--host", "h.example.com", "--starttls", "--username", "u"),
        "--password-stdin",
        input="pw-123456\n",
    )
    assert tls.exit_code == 0 and "clear text" not in tls.stderr
    no_auth = run(db_url, "mta", "add", "--description", "n", "--host", "h.example.com")
    assert no_auth.exit_code == 0 and "clear text" not in no_auth.stderr
    # edit: turning TLS off under a username warns; turning it on again does not
    off = run(db_url, "mta", "edit", "t", "--no-starttls")
    assert off.exit_code == 0 and "clear text" in off.stderr
    on = run(db_url, "mta", "edit", "t", "--ssl")
    assert on.exit_code == 0 and "clear text" not in on.stderr
    named = run(db_url, "mta", "edit", "n", "--username", "u2", "--password-stdin", input="pw-654321\n")
    assert named.exit_code == 0 and "clear text" in named.stderr


def test_the_test_says_auth_goes_in_clear_text(ready: Engine, db_url: str) -> None:
    with hostile_server({}) as srv:
        base = ["mta", "test", "--host", "127.0.0.1", "--port", str(srv.port), "--to", TO, "--username", "u"]
        shown = run(db_url, *base, "--password-stdin", input="pw-123456\n")
        exact = run(db_url, *base, "--password-stdin", "--json", input="pw-123456\n")
        quiet = run(db_url, "mta", "test", "--host", "127.0.0.1", "--port", str(srv.port), "--to", TO)
    assert shown.exit_code == 0 and "Warning: " in shown.stdout and "clear text" in shown.stdout
    data = json.loads(exact.stdout)
    assert data["ok"] and len(data["warnings"]) == 1 and "clear text" in data["warnings"][0]
    assert any("clear text" in line for line in data["transcript"])
    assert quiet.exit_code == 0 and "clear text" not in quiet.output


def test_a_subject_with_escapes_is_safe_in_queue_list_and_show(ready: Engine, db_url: str) -> None:
    hostile = "\x1b]0;T\x07hi\u202eevil\x1b[2J"
    [mid] = queue.enqueue(ready, "b@example.com", "placeholder", "body")
    with ready.begin() as conn:  # enqueue refuses control characters; a script wrote this row
        conn.execute(update(Message).where(Message.id == mid).values(subject=hostile))  # type: ignore[arg-type]
    for args in (["queue", "list"], ["queue", "show", str(mid)]):
        res = run(db_url, *args)
        assert res.exit_code == 0 and clean(res.output), (args, res.output)
        assert "\\x1b]0;T\\x07hi\\u202e" in res.output
    assert json.loads(run(db_url, "queue", "show", str(mid), "--json").stdout)["subject"] == hostile
