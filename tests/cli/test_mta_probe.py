"""`ertui mta probe`: connect, TLS, EHLO and AUTH, then QUIT — the server sees
a login and no mail; a failure exits 1 with its kind and hint."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy.engine import Engine

from ertui import mtas
from ertui.cli import cli
from tests.cli.conftest import SECRET
from tests.smtpd import SmtpServer, closed_port


def test_probe_logs_in_over_starttls_and_sends_no_mail(
    ready: Engine,
    db_url: str,
    auth_server: SmtpServer,
    trust_ca: Path,
) -> None:
    args = ["--host", "127.0.0.1", "--port", str(auth_server.port), "--starttls", "--username", "mailer"]
    out = CliRunner().invoke(cli, ["--db", db_url, "mta", "probe", *args, "--password-stdin", "--transcript"],
                             input=SECRET + "\n")  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "accepted the login; no mail was sent." in out.output
    assert "STARTTLS" in out.output and "AUTH" in out.output
    assert "MAIL FROM" not in out.output and "DATA" not in out.output
    assert SECRET not in out.output
    assert auth_server.received == []


def test_probe_of_a_saved_mta_records_health_and_a_failure_exits_1(
    ready: Engine,
    db_url: str,
    smtp_server: SmtpServer,
) -> None:
    mtas.add(ready, description="Relay", host="127.0.0.1", port=smtp_server.port)
    mtas.add(ready, description="Dead", host="127.0.0.1", port=closed_port(), timeout=3)
    ok = CliRunner().invoke(cli, ["--db", db_url, "mta", "probe", "Relay", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.output)["ok"] is True
    assert mtas.get(ready, "Relay").last_success_at is not None
    dead = CliRunner().invoke(cli, ["--db", db_url, "mta", "probe", "Dead"])
    assert dead.exit_code == 1
    assert "Probe failed: refused" in dead.output and "Hint:" in dead.output
    assert mtas.get(ready, "Dead").consecutive_failures == 1
    assert smtp_server.received == []
