"""`ertui doctor`: every check fails in turn with its reason and fix, all pass
on a healthy store (exit 0), and the probe sends no mail."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from sqlalchemy.engine import Engine

from ertui import doctor, mtas, queue, settings
from ertui.cli import cli
from ertui.delivery import workers
from ertui.store.engine import make_engine
from ertui.store.models import Message
from ertui.timeutil import utcnow
from tests.smtpd import SmtpServer, closed_port


def run(engine: Engine) -> doctor.Report:
    return asyncio.run(doctor.run(lambda: engine))


def by_name(report: doctor.Report) -> dict[str, doctor.Check]:
    return {c.name: c for c in report.checks}


@pytest.fixture
def healthy(engine: Engine, smtp_server: SmtpServer) -> Engine:
    settings.set_admin_email(engine, "admin@example.com")
    settings.set_master_host(engine, "mail.example.com")
    mtas.add(engine, description="Relay", host="127.0.0.1", port=smtp_server.port)
    workers.register(engine, "test-worker", "host", os.getpid())
    return engine


def test_a_healthy_store_passes_every_check_and_the_probe_sends_no_mail(
    healthy: Engine, db_url: str, smtp_server: SmtpServer
) -> None:
    report = run(healthy)
    assert report.ok, [c for c in report.checks if not c.ok]
    assert [c.name for c in report.checks] == [
        "store", "secret key", "sender", "host name", "enabled MTAs", "probe Relay", "worker",
        "oldest unsent", "failed in 24 h",
    ]  # fmt: skip
    assert smtp_server.received == []  # probed up to AUTH, then QUIT: no MAIL, no DATA
    out = CliRunner().invoke(cli, ["--db", db_url, "doctor", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["ok"] is True and {c["name"] for c in data["checks"]} >= {"store", "worker"}


@pytest.mark.parametrize(
    ("breakage", "failing", "fix"),
    [
        ("no_sender", "sender", "ertui admin set-email"),
        ("no_fqdn", "host name", "ertui host set"),
        ("no_enabled_mta", "enabled MTAs", "ertui mta enable"),
        ("dead_mta", "probe Dead", "nothing listens on port"),
        ("no_worker", "worker", "ertui worker"),
        ("old_mail", "oldest unsent", "ertui queue shape"),
        ("failed_mail", "failed in 24 h", "ertui queue retry"),
        ("lost_key", "secret key", "Restore the key"),
    ],
)
def test_each_check_fails_in_turn(
    healthy: Engine, db_url: str, breakage: str, failing: str, fix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if breakage == "no_sender":
        with healthy.begin() as conn:
            conn.exec_driver_sql("UPDATE user_account SET email = NULL")
    elif breakage == "no_fqdn":
        settings.put_setting(healthy, settings.MASTER_HOST_KEY, "")  # back to the default: this host's name
        monkeypatch.setattr("ertui.settings.default_host_name", lambda: "localhost")
    elif breakage == "no_enabled_mta":
        mtas.set_enabled(healthy, "Relay", False)
    elif breakage == "dead_mta":
        mtas.add(healthy, description="Dead", host="127.0.0.1", port=closed_port(), timeout=3)
    elif breakage == "no_worker":
        workers.unregister(healthy, "test-worker")
    elif breakage in ("old_mail", "failed_mail"):
        [mid] = queue.enqueue(healthy, ["ops@example.com"], "Report", "Body")
        values = (
            {"created_at": utcnow() - timedelta(minutes=20)}
            if breakage == "old_mail"
            else {"status": "failed", "last_attempt_at": utcnow() - timedelta(hours=1)}
        )
        with healthy.begin() as conn:
            conn.execute(update(Message).where(Message.id == mid).values(**values))  # type: ignore[arg-type]
    elif breakage == "lost_key":
        mtas.add(healthy, description="Authed", host="127.0.0.1", port=closed_port(), username="u", password="pw",
                 enabled=False)  # fmt: skip
        key = Path(os.environ["XDG_CONFIG_HOME"]) / "ertui" / "secret.key"
        assert key.exists()
        key.unlink()
    report = run(healthy)
    failed = [c for c in report.checks if not c.ok]
    assert [c.name for c in failed] == [failing]
    assert fix in failed[0].fix and failed[0].detail
    out = CliRunner().invoke(cli, ["--db", db_url, "doctor"])
    assert out.exit_code == 1
    assert f"✗ {failing}:" in out.output and "fix: " in out.output


def test_a_store_that_cannot_be_opened_stops_the_checklist(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-store.db"
    bad.write_bytes(b"this is not an SQLite database" * 100)
    report = asyncio.run(doctor.run(lambda: make_engine(f"sqlite:///{bad}")))
    assert [(c.name, c.ok) for c in report.checks] == [("store", False)]
