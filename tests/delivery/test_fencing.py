"""Fencing and crash recovery with real worker processes (issue 10, items 1-2):
a worker stopped longer than its lease, a worker whose log pipe nobody reads,
a SIGKILL followed by a restart, a SIGTERM while connecting to a silent MTA."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections import Counter

from sqlalchemy.engine import Engine

from ertui import queue
from tests.delivery.conftest import add_mta, finish, start_worker, wait_for, worker_env
from tests.delivery.test_processes import enqueue_n, statuses
from tests.smtpd import RawServer, SmtpServer, silent

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def message_ids(server: SmtpServer) -> Counter[bytes]:
    """How often each Message-ID reached the server."""
    out: Counter[bytes] = Counter()
    for r in list(server.received):
        found = MESSAGE_ID.search(r.data)
        assert found is not None
        out[found.group(1)] += 1
    return out


def stop_all(*procs: subprocess.Popen[bytes]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.send_signal(signal.SIGTERM)
    for p in procs:
        code, err = finish(p)
        assert code == 0, err[-2000:]


def test_a_worker_stopped_past_its_lease_keeps_the_limit_and_sends_nothing_twice(
    store: Engine, db_url: str, smtp_server: SmtpServer
) -> None:
    """Two workers, an MTA with max 2 connections; one is stopped (SIGSTOP) for
    three leases, then continued: never more than 2 connections at the server,
    no Message-ID twice, nothing lost."""
    smtp_server.behaviour.data_delay = 0.01
    add_mta(store, "relay", smtp_server.port, max_connections=2)
    total = 400
    enqueue_n(store, total)
    env = worker_env(ERTUI_WORKER_BATCH_SIZE="20")
    a = start_worker(db_url, "--lease-seconds", "1", env=env)
    b = start_worker(db_url, "--lease-seconds", "1", env=env)
    try:
        wait_for(lambda: len(smtp_server.received) >= 30, "deliveries to start")
        for _ in range(2):
            a.send_signal(signal.SIGSTOP)
            time.sleep(3.0)  # three leases: its claims and slots have run out
            a.send_signal(signal.SIGCONT)
            time.sleep(0.5)
        wait_for(lambda: statuses(store)["sent"] == total, "every message sent", seconds=90)
    finally:
        stop_all(a, b)
    ids = message_ids(smtp_server)
    assert len(ids) == total  # nothing lost
    assert max(ids.values()) == 1  # nothing twice
    assert smtp_server.max_seen_connections <= 2
    assert statuses(store) == Counter({"sent": total})


def test_a_worker_whose_log_pipe_is_not_read_keeps_delivering(
    store: Engine, db_url: str, smtp_server: SmtpServer
) -> None:
    """`ertui worker | less`, left alone: the pipe fills (64 KiB, ~500 lines) and
    the log is dropped and counted, but deliveries go on, once each."""
    add_mta(store, "relay", smtp_server.port, max_connections=2)
    total = 1500
    enqueue_n(store, total)
    env = worker_env(ERTUI_WORKER_LEASE_SECONDS="2")
    blocked = start_worker(db_url, "--log-level", "debug", env=env)  # stderr: a pipe nobody reads yet
    other = start_worker(db_url, env=env)
    try:
        wait_for(lambda: statuses(store)["sent"] == total, "every message sent", seconds=120)
    finally:
        stop_all(blocked, other)
    ids = message_ids(smtp_server)
    assert len(ids) == total and max(ids.values()) == 1
    assert smtp_server.max_seen_connections <= 2


def test_after_a_sigkill_a_new_worker_delivers_at_once(store: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    """The killed worker's claims and slots carry a 60 s lease; the new worker on
    the same host sees its process is gone and takes them at once: a `--once`
    run leaves nothing `sending` behind and nothing undelivered."""
    smtp_server.behaviour.data_delay = 0.01
    add_mta(store, "relay", smtp_server.port, max_connections=2)
    total = 300
    enqueue_n(store, total)
    first = start_worker(db_url, "--lease-seconds", "60")
    wait_for(lambda: len(smtp_server.received) >= 30, "deliveries to start")
    first.send_signal(signal.SIGKILL)
    finish(first)
    assert statuses(store)["sending"] > 0  # left behind with a 60 s lease
    started = time.monotonic()
    second = start_worker(db_url, "--once", "--lease-seconds", "60")
    code, err = finish(second, seconds=50)
    assert code == 0, err
    assert time.monotonic() - started < 45  # far below the lease (generous)
    assert statuses(store) == Counter({"sent": total})
    per = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert len(per) == total and max(per.values()) <= 2


def test_sigterm_while_connecting_to_a_silent_mta_stops_at_once(store: Engine, db_url: str) -> None:
    """A connection attempt carries no message: a stop cancels it rather than
    waiting for the MTA's 30 s timeout; the message is given back, untried."""
    with RawServer(silent) as server:
        add_mta(store, "silent", server.port, timeout=30)
        [mid] = enqueue_n(store, 1)
        proc = start_worker(db_url)
        wait_for(lambda: server.connections_total >= 1, "the connection attempt")
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        code, err = finish(proc, seconds=12)  # the MTA's timeout is 30 s
    assert code == 0, err
    m = queue.get_message(store, mid)
    assert (m.status, m.attempts, m.lease_owner) == ("queued", 0, None)
