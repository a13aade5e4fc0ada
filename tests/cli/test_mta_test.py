"""`ertui mta test`: both forms, exit codes 0/1/2, --json, --transcript, and
no password in any output."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine

from ertui import mtas
from ertui.cli import cli
from ertui.cli.mta_options import ConnectionFields, SessionFields
from ertui.cli.mta_test import _config
from ertui.mta_rules import Security
from tests.cli.conftest import SECRET
from tests.e2e.conftest import ertui_script
from tests.smtp.test_session import silent_server
from tests.smtpd import SmtpServer, closed_port

TO = "ops@example.net"


def run(db_url: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, "mta", "test", *args], input=stdin)


def verdict(result: Result) -> list[str]:
    """The lines after the checklist of steps (and its blank line)."""
    return result.stdout.split("\n\n", 1)[1].splitlines()


def test_saved_mta_accepted_exits_0(ready: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    mtas.add(ready, description="Relay", host="127.0.0.1", port=smtp_server.port)
    result = run(db_url, "Relay", "--to", TO)
    assert result.exit_code == 0, result.output
    assert verdict(result) == ["Email server accepted mail for delivery: 250 2.0.0 Ok: queued as TEST00001"]
    assert smtp_server.received[0].rcpt_tos == [TO]


def test_saved_mta_failure_exits_1_with_kind_code_text_and_hint(
    ready: Engine, db_url: str, smtp_server: SmtpServer
) -> None:
    smtp_server.behaviour.rcpt_reply = "451 4.3.0 greylisted, try later"
    mtas.add(ready, description="Relay", host="127.0.0.1", port=smtp_server.port)
    result = run(db_url, "Relay", "--to", TO)
    assert result.exit_code == 1
    lines = verdict(result)
    assert lines[0] == "Test failed: recipient_refused 451 (temporary)"
    assert lines[1] == "Server said: 4.3.0 greylisted, try later"
    assert lines[2].startswith("Hint: a temporary refusal")
    row = mtas.get(ready, "Relay")
    assert row.last_error is not None and "451" in row.last_error


def test_refused_port_by_id_exits_1(ready: Engine, db_url: str) -> None:
    m = mtas.add(ready, description="Gone", host="127.0.0.1", port=closed_port())
    result = run(db_url, str(m.id), "--to", TO)
    assert result.exit_code == 1
    assert verdict(result)[0] == "Test failed: refused (temporary)"
    assert "Hint: nothing listens on port" in result.stdout


def test_transcript_option_prints_the_dialogue(ready: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    result = run(db_url, "--host", "127.0.0.1", "--port", str(smtp_server.port), "--to", TO, "--transcript")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "C: EHLO mail.example.org" in lines
    assert "S: 250 2.0.0 Ok: queued as TEST00001" in lines
    assert lines[-1].startswith("Email server accepted mail for delivery: 250")


def test_json_has_the_documented_shape(ready: Engine, db_url: str) -> None:
    result = run(db_url, "--host", "127.0.0.1", "--port", str(closed_port()), "--to", TO, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert set(data) == {
        "ok",
        "kind",
        "permanent",
        "nature",
        "code",
        "message",
        "hint",
        "transcript",
        "warnings",
        "steps",
    }
    assert (data["ok"], data["kind"], data["permanent"], data["code"]) == (False, "refused", False, None)
    assert (data["nature"], data["warnings"]) == ("temporary", [])
    assert data["hint"] and isinstance(data["transcript"], list)


def test_unsaved_starttls_with_password_from_stdin(
    ready: Engine, db_url: str, auth_server: SmtpServer, trust_ca: Path
) -> None:
    result = run(
        db_url,
        "--host",
        "127.0.0.1",
        "--port",
        str(auth_server.port),
        "--starttls",
        "--username",
        "mailer",
        "--password-stdin",
        "--to",
        TO,
        "--transcript",
        "--json",
        stdin=SECRET + "\n",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["kind"] is None
    assert "C: AUTH PLAIN <redacted>" in data["transcript"]
    assert SECRET not in result.output
    assert base64.b64encode(b"\0mailer\0" + SECRET.encode()).decode() not in result.output
    assert mtas.list_mtas(ready) == []  # unsaved settings stay unsaved


def test_wrong_password_exits_1_and_never_shows_it(
    ready: Engine, db_url: str, auth_server: SmtpServer, trust_ca: Path
) -> None:
    wrong = "not-the-" + SECRET
    result = run(
        db_url,
        "--host",
        "127.0.0.1",
        "--port",
        str(auth_server.port),
        "--starttls",
        "--username",
        "mailer",
        "--password-stdin",
        "--to",
        TO,
        "--transcript",
        stdin=wrong + "\n",
    )
    assert result.exit_code == 1
    assert "Test failed: auth_failed 535" in result.stdout
    assert "Hint: the server rejected the username or password" in result.stdout
    assert wrong not in result.output
    assert base64.b64encode(wrong.encode()).decode().rstrip("=") not in result.output


def test_unknown_ca_then_no_verify_tls(ready: Engine, db_url: str, ssl_server: SmtpServer) -> None:
    base = ["--host", "127.0.0.1", "--port", str(ssl_server.port), "--ssl", "--to", TO]
    verified = run(db_url, *base)
    assert verified.exit_code == 1
    assert "Test failed: tls_certificate" in verified.stdout
    unverified = run(db_url, *base, "--no-verify-tls")
    assert unverified.exit_code == 0, unverified.output


def test_hidden_timeout_makes_a_silent_port_fail_fast(ready: Engine, db_url: str) -> None:
    server, script = silent_server()
    with server as srv:
        result = run(db_url, "--host", "127.0.0.1", "--port", str(srv.port), "--to", TO, "--timeout", "0.3", "--json")
        script.wait_done()
    assert result.exit_code == 1
    assert json.loads(result.stdout)["kind"] == "timeout"
    help_text = CliRunner().invoke(cli, ["mta", "test", "--help"]).output
    assert "--timeout" not in help_text


def test_no_admin_address_exits_1_before_connecting(engine: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    result = run(db_url, "--host", "127.0.0.1", "--port", str(smtp_server.port), "--to", TO)
    assert result.exit_code == 1
    assert "no email address" in result.stderr
    assert smtp_server.connections_total == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--to", TO], "--host"),
        (["Relay", "--host", "127.0.0.1", "--to", TO], "not both"),
        (["Relay", "--ssl", "--to", TO], "--ssl"),
        (["--host", "127.0.0.1", "--to", "nobody"], "To"),
        (["--host", "127.0.0.1", "--ssl", "--starttls", "--to", TO], "exclude each other"),
        (["--host", "127.0.0.1", "--port", "0", "--to", TO], "Host Port"),
        (["--host", "smtp://x", "--to", TO], "Host Name"),
        (["--host", "127.0.0.1", "--password-stdin", "--to", TO], "--username"),
        (["--host", "127.0.0.1", "--timeout", "0", "--to", TO], "Timeout"),
        (["--host", "127.0.0.1"], "--to"),
    ],
)
def test_bad_input_exits_2(ready: Engine, db_url: str, args: list[str], words: str) -> None:
    result = run(db_url, *args)
    assert result.exit_code == 2, result.output
    assert words in result.stderr


def test_username_without_password_exits_2(ready: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    result = run(
        db_url,
        "--host",
        "127.0.0.1",
        "--port",
        str(smtp_server.port),
        "--username",
        "mailer",
        "--password-stdin",
        "--to",
        TO,
        stdin="\n",
    )
    assert result.exit_code == 2
    assert "Password" in result.stderr
    assert smtp_server.connections_total == 0


def test_unknown_saved_mta_exits_1(ready: Engine, db_url: str) -> None:
    result = run(db_url, "nope", "--to", TO)
    assert result.exit_code == 1
    assert "no MTA" in result.stderr


@pytest.mark.parametrize(
    ("flags", "port"),
    [([], 25), (["--ssl"], 465), (["--starttls"], 587)],
)
def test_port_follows_the_mode_when_not_given(flags: list[str], port: int) -> None:
    conn = ConnectionFields(ssl="--ssl" in flags, starttls="--starttls" in flags)
    config = _config(None, None, "mx.example.com", conn, SessionFields())  # type: ignore[arg-type]
    assert config.port == port
    assert config.security == {25: Security.NONE, 465: Security.SSL, 587: Security.STARTTLS}[port]


def test_console_script_subprocess(ready: Engine, db_url: str, smtp_server: SmtpServer, tmp_path: Path) -> None:
    exe = ertui_script()
    assert exe is not None, "the ertui console script is not installed beside this Python nor on PATH"
    proc = subprocess.run(
        [
            exe,
            "--db",
            db_url,
            "mta",
            "test",
            "--host",
            "127.0.0.1",
            "--port",
            str(smtp_server.port),
            "--to",
            TO,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["message"].startswith("Email server accepted mail")
