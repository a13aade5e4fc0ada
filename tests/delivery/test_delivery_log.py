"""`ertui log`: one line per attempt from the attempt table, so it shows what
any worker process did; filters; --follow prints attempts made meanwhile by
another process and ends on Ctrl-C with exit 0."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from ertui import delivery_log, queue
from ertui.cli import cli
from ertui.errors import ValidationError
from tests.delivery.conftest import ERTUI, add_mta, start_worker, worker_env
from tests.smtpd import SmtpServer


def drain_in_another_process(db_url: str) -> None:
    proc = start_worker(db_url, "--once")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()


def test_log_lists_attempts_of_another_process_with_filters(
    store: Engine, db_url: str, smtp_server: SmtpServer, second_server: SmtpServer
) -> None:
    second_server.behaviour.rcpt_replies["bad@refused.example"] = "550 5.1.1 \x1b[2Jno such user"
    add_mta(store, "Relay One", smtp_server.port, enabled=True)
    queue.enqueue(store, ["ok1@good.example", "ok2@good.example"], "Hello", "Body")
    drain_in_another_process(db_url)
    add_mta(store, "Relay Two", second_server.port)
    from ertui import mtas

    mtas.set_enabled(store, "Relay One", False)
    queue.enqueue(store, ["bad@refused.example"], "Hello", "Body")
    drain_in_another_process(db_url)

    runner = CliRunner()
    out = runner.invoke(cli, ["--db", db_url, "log"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert len(lines) == 3
    assert "  Relay One  ok1@good.example  sent 250" in lines[0] and lines[0].endswith(" ms)")
    assert "Relay Two  bad@refused.example  failed 550" in lines[2]
    assert "\x1b" not in out.output and "\\x1b[2Jno such user" in lines[2]  # made safe for the terminal

    failed = runner.invoke(cli, ["--db", db_url, "log", "--failed", "--json"])
    [record] = [json.loads(line) for line in failed.output.splitlines()]
    assert record["recipient"] == "bad@refused.example" and record["code"] == 550
    assert "\x1b[2Jno such user" in record["text"]  # --json keeps the exact text
    assert len(runner.invoke(cli, ["--db", db_url, "log", "--domain", "GOOD.example"]).output.splitlines()) == 2
    assert len(runner.invoke(cli, ["--db", db_url, "log", "--mta", "relay two"]).output.splitlines()) == 1
    assert runner.invoke(cli, ["--db", db_url, "log", "--since", "1h"]).output.count("\n") == 3


def test_bad_since_is_bad_input(store: Engine, db_url: str) -> None:
    with pytest.raises(ValidationError, match="--since"):
        delivery_log.make_filter(since="yesterday")
    out = CliRunner().invoke(cli, ["--db", db_url, "log", "--since", "soon"])
    assert out.exit_code == 2 and "--since must be an age" in out.output


def test_follow_prints_an_attempt_made_by_another_process(store: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    add_mta(store, "Relay One", smtp_server.port)
    follower = subprocess.Popen(
        [ERTUI, "--db", db_url, "log", "--follow"], env=worker_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        time.sleep(1.0)  # let it start and find nothing
        queue.enqueue(store, ["late@good.example"], "Hello", "Body")
        drain_in_another_process(db_url)
        assert follower.stdout is not None
        line = follower.stdout.readline().decode()
        assert "late@good.example  sent 250" in line
    finally:
        follower.send_signal(signal.SIGINT)
        follower.wait(timeout=10)
    assert follower.returncode == 0
