"""`ertui check`: the Nagios contract, each of its four codes arranged for real."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update
from sqlalchemy.engine import Engine

from ertui import mtas, queue
from ertui.cli import cli
from ertui.delivery import workers
from ertui.store.models import Message
from ertui.timeutil import utcnow
from tests.service.conftest import ERTUI, SmtpServer, add_mta, worker_env

T = Message.__table__  # type: ignore[attr-defined]


def check(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, "check", *args], catch_exceptions=False)


def age_messages(engine: Engine, minutes: float) -> None:
    with engine.begin() as conn:
        conn.execute(update(T).values(created_at=utcnow() - timedelta(minutes=minutes)))


def fail_messages(engine: Engine, n: int) -> None:
    ids = queue.enqueue_batch(engine, [(f"f{i}@example.com", "s", "b") for i in range(n)])
    with engine.begin() as conn:
        conn.execute(update(T).where(T.c.id.in_(ids)).values(status="failed", last_attempt_at=utcnow()))


def test_ok_line_is_the_contracts(store: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    add_mta(store, "A", smtp_server.port)
    add_mta(store, "B", smtp_server.port)
    res = check(db_url)
    assert res.exit_code == 0
    assert res.stdout == (
        "ERTUI OK - 0 unsent, oldest 0 s, 0 failed in 24h, 2/2 MTAs up | unsent=0 oldest=0s failed24h=0 mtas_up=2\n"
    )


@pytest.mark.parametrize(
    ("arrange", "code", "words"),
    [
        ("old_20m", 1, "oldest unsent is"),
        ("old_2h", 2, "oldest unsent is"),
        ("failed_1", 1, "1 failed in 24h"),
        ("failed_10", 2, "10 failed in 24h"),
        ("mta_down", 1, "MTA down: 'B'"),
        ("no_mta", 2, "no MTA is enabled"),
    ],
)
def test_each_condition_gives_its_code(
    store: Engine, db_url: str, smtp_server: SmtpServer, arrange: str, code: int, words: str
) -> None:
    add_mta(store, "A", smtp_server.port)
    b = add_mta(store, "B", smtp_server.port)
    if arrange.startswith("old_"):
        queue.enqueue(store, "x@example.com", "s", "b")
        age_messages(store, 20 if arrange == "old_20m" else 120)
    elif arrange.startswith("failed_"):
        fail_messages(store, int(arrange.split("_")[1]))
    elif arrange == "mta_down":
        mtas.record_failure(store, b.id or 0, "connection refused", cooldown=lambda n: 600)
    elif arrange == "no_mta":
        for m in mtas.list_mtas(store):
            mtas.set_enabled(store, m.id or 0, False)
    res = check(db_url)
    assert res.exit_code == code, res.output
    state = {1: "WARNING", 2: "CRITICAL"}[code]
    assert res.stdout.startswith(f"ERTUI {state} - ") and words in res.stdout
    assert res.stdout.count("\n") == 1 and " | unsent=" in res.stdout


def test_thresholds_are_the_operators(store: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    add_mta(store, "A", smtp_server.port)
    queue.enqueue(store, "x@example.com", "s", "b")
    age_messages(store, 20)
    assert check(db_url, "--warn-age", "30m", "--crit-age", "2h").exit_code == 0
    assert check(db_url, "--warn-age", "5m", "--crit-age", "10m").exit_code == 2
    fail_messages(store, 3)
    assert check(db_url, "--warn-age", "1h", "--crit-age", "2h", "--warn-failed", "5").exit_code == 0
    assert check(db_url, "--warn-age", "1h", "--crit-age", "2h", "--crit-failed", "3").exit_code == 2


def test_old_failures_do_not_count(store: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    add_mta(store, "A", smtp_server.port)
    fail_messages(store, 20)
    with store.begin() as conn:
        conn.execute(update(T).values(last_attempt_at=utcnow() - timedelta(hours=25)))
    assert check(db_url).exit_code == 0


def test_no_worker_is_critical_only_when_asked(store: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    add_mta(store, "A", smtp_server.port)
    assert check(db_url).exit_code == 0
    res = check(db_url, "--crit-no-worker")
    assert res.exit_code == 2 and "no worker heartbeat in 2 min" in res.stdout
    workers.register(store, "w1", "host", 1)  # a heartbeat now
    assert check(db_url, "--crit-no-worker").exit_code == 0


def test_unknown_when_the_store_is_unreadable(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "ertui.db"
    res = check(f"sqlite:///{missing}")
    assert res.exit_code == 3 and res.stdout.startswith("ERTUI UNKNOWN - store unreadable")
    assert not missing.exists()  # a check never creates a store
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    res = check(f"sqlite:///{junk}")
    assert res.exit_code == 3 and res.stdout.startswith("ERTUI UNKNOWN - store unreadable")
    assert "Traceback" not in res.output


def test_bad_options_are_unknown_not_critical(store: Engine, db_url: str) -> None:
    for args in (["--warn-age", "soon"], ["--crit-failed", "-1"]):
        res = check(db_url, *args)
        assert res.exit_code == 3 and res.stdout.startswith("ERTUI UNKNOWN - "), res.output
        assert args[0] in res.stdout


def test_the_installed_script_exits_with_the_code(store: Engine, db_url: str) -> None:
    proc = subprocess.run([ERTUI, "--db", db_url, "check"], env=worker_env(), capture_output=True, timeout=60)
    assert proc.returncode == 2  # no MTA
    assert proc.stdout.decode().startswith("ERTUI CRITICAL - no MTA is enabled")


def test_a_warning_above_its_critical_is_unknown(store: Engine, db_url: str) -> None:
    for args, words in (
        (["--warn-age", "2h", "--crit-age", "1h"], "--warn-age must not be more than --crit-age."),
        (["--warn-failed", "20"], "--warn-failed must not be more than --crit-failed."),
    ):
        res = check(db_url, *args)
        assert res.exit_code == 3 and res.stdout == f"ERTUI UNKNOWN - {words}\n"
