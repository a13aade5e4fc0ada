"""`ertui worker` as real processes sharing one store."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ertui import queue
from ertui.delivery.worker import WorkerSettings
from ertui.store.models import Message
from tests.delivery.conftest import ERTUI, add_mta, finish, start_worker, wait_for, worker_env
from tests.smtpd import SmtpServer

T = Message.__table__  # type: ignore[attr-defined]


def statuses(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter({s: n for s, n in conn.execute(select(T.c.status, func.count()).group_by(T.c.status))})


def enqueue_n(engine: Engine, n: int) -> list[int]:
    return queue.enqueue_batch(engine, [(f"u{i}@example.com", "s", "b") for i in range(n)])


def test_two_worker_processes_never_exceed_max_connections(store: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.data_delay = 0.01
    add_mta(store, "relay", smtp_server.port, max_connections=3)
    enqueue_n(store, 150)
    procs = [start_worker(db_url, "--once") for _ in range(2)]
    for p in procs:
        code, err = finish(p)
        assert code == 0, err
    assert statuses(store) == Counter({"sent": 150})
    recipients = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert len(recipients) == 150 and max(recipients.values()) == 1
    assert 1 <= smtp_server.max_seen_connections <= 3


def test_sigterm_finishes_in_flight_and_leaves_nothing_sending(
    store: Engine, db_url: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    smtp_server.behaviour.data_delay = 0.02
    add_mta(store, "relay", smtp_server.port, max_connections=2)
    enqueue_n(store, 300)
    proc = start_worker(db_url, log=tmp_path / "worker.log")
    wait_for(lambda: len(smtp_server.received) >= 10, "deliveries to start")
    proc.send_signal(signal.SIGTERM)
    code, err = finish(proc)
    assert code == 0, err
    counts = statuses(store)
    assert counts["sending"] == 0
    assert counts["sent"] == len(smtp_server.received)  # every acceptance recorded, no more
    assert counts["queued"] > 0 and counts["sent"] + counts["queued"] == 300
    log = (tmp_path / "worker.log").read_text()
    assert log.count(" sent id=") == counts["sent"]  # one line per delivery outcome


def test_sigkill_mid_drain_then_a_second_worker_finishes(store: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.data_delay = 0.01
    add_mta(store, "relay", smtp_server.port, max_connections=2)
    ids = enqueue_n(store, 200)
    env = worker_env(ERTUI_WORKER_FLUSH_INTERVAL="0.2")
    first = start_worker(db_url, "--lease-seconds", "1", env=env)
    wait_for(lambda: len(smtp_server.received) >= 40, "deliveries to start")
    first.send_signal(signal.SIGKILL)
    finish(first)
    assert statuses(store)["sending"] > 0  # its claims are left behind, leased
    time.sleep(1.2)  # the leases (and the slots) run out
    second = start_worker(db_url, "--once", "--lease-seconds", "1", env=env)
    code, err = finish(second)
    assert code == 0, err
    assert statuses(store) == Counter({"sent": 200})
    per = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert set(per) == {f"u{i}@example.com" for i in range(len(ids))}  # nothing lost
    repeats = sum(n - 1 for n in per.values())
    # The documented bound: results not yet written (at most flush_every) plus
    # one in-flight message per open connection.
    assert repeats <= WorkerSettings().flush_every + 2
    assert max(per.values()) <= 2


@pytest.mark.parametrize("args", [["--lease-seconds", "0"], ["--log-level", "loud"]])
def test_worker_bad_options_exit_2(db_url: str, store: Engine, args: list[str]) -> None:
    code, err = finish(start_worker(db_url, "--once", *args))
    assert code == 2 and "Traceback" not in err


def test_processes_option_shares_the_queue_within_the_limit(
    store: Engine, db_url: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    smtp_server.behaviour.data_delay = 0.005
    add_mta(store, "relay", smtp_server.port, max_connections=3)
    enqueue_n(store, 200)
    log = tmp_path / "worker.log"
    code, err = finish(start_worker(db_url, "--once", "--processes", "2", log=log))
    assert code == 0, err
    assert statuses(store) == Counter({"sent": 200})
    per = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert len(per) == 200 and max(per.values()) == 1
    assert smtp_server.max_seen_connections <= 3
    lines = log.read_text().splitlines()
    assert sum(" sent id=" in line for line in lines) == 200  # whole lines, none cut
    pids = {line.split("[", 1)[1].split("]", 1)[0] for line in lines if " started" in line}
    assert len(pids) == 2


def test_sigterm_to_the_parent_stops_every_process(store: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.data_delay = 0.02
    add_mta(store, "relay", smtp_server.port, max_connections=4)
    enqueue_n(store, 400)
    proc = start_worker(db_url, "--processes", "2")
    wait_for(lambda: len(smtp_server.received) >= 20, "deliveries to start")
    proc.send_signal(signal.SIGTERM)
    code, err = finish(proc)
    assert code == 0, err
    time.sleep(0.2)
    counts = statuses(store)
    assert counts["sending"] == 0
    assert counts["sent"] == len(smtp_server.received)
    assert counts["queued"] > 0


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for whoever adopted it)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_forked_workers_stop_when_the_parent_is_killed(
    store: Engine, db_url: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    add_mta(store, "relay", smtp_server.port)
    log = tmp_path / "worker.log"
    proc = start_worker(db_url, "--processes", "3", log=log)
    children: set[int] = set()
    try:

        def started() -> bool:
            text = log.read_text() if log.exists() else ""
            pids = {int(line.split("[", 1)[1].split("]", 1)[0]) for line in text.splitlines() if " started" in line}
            children.update(pids - {proc.pid})
            return len(pids) == 3

        wait_for(started, "three worker processes to start")
        proc.kill()  # SIGKILL: the parent cannot pass anything on
        proc.wait()
        wait_for(lambda: not any(_running(pid) for pid in children), "the children to stop")
        stopped = [line for line in log.read_text().splitlines() if " stopped" in line]
        assert len(stopped) == 2  # each child stopped gracefully (nothing left 'sending')
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_worker_log_times_are_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    from ertui.delivery.runner import UtcFormatter

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+05:30
    time.tzset()
    try:
        record = logging.LogRecord("ertui.worker", logging.INFO, __file__, 1, "sent id=%d", (1,), None)
        record.created, record.msecs = 86_400 + 3_723.5, 500.0
        line = UtcFormatter("%(asctime)s %(levelname)s %(message)s").format(record)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert line == "1970-01-02 01:02:03,500Z INFO sent id=1"


def test_a_hangup_stops_the_worker_gracefully_unless_nohup(store: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    """The SSH session of `ertui worker` drops (SIGHUP): a graceful stop, nothing
    left `sending` (no deliveries repeated later). Under nohup it keeps working."""
    smtp_server.behaviour.data_delay = 0.02
    add_mta(store, "relay", smtp_server.port, max_connections=2)
    enqueue_n(store, 300)
    proc = start_worker(db_url)
    wait_for(lambda: len(smtp_server.received) >= 10, "deliveries to start")
    proc.send_signal(signal.SIGHUP)
    code, err = finish(proc)
    assert code == 0, err
    counts = statuses(store)
    assert counts["sending"] == 0 and counts["sent"] == len(smtp_server.received)
    nohup = subprocess.Popen(
        ["nohup", ERTUI, "--db", db_url, "worker"], env=worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_for(lambda: len(smtp_server.received) >= counts["sent"] + 10, "the second worker")
        nohup.send_signal(signal.SIGHUP)
        seen = len(smtp_server.received)
        wait_for(lambda: len(smtp_server.received) >= seen + 10, "deliveries after the hangup")
        assert nohup.poll() is None
    finally:
        nohup.send_signal(signal.SIGTERM)
        code, err = finish(nohup)
    assert code == 0, err
    assert statuses(store)["sending"] == 0
