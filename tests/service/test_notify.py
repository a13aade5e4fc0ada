"""systemd's notify protocol against a real AF_UNIX datagram socket and a real
`ertui worker`; logs without their own stamps for the journal."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from ertui.service.notify import Notifier, logs_to_journal, watchdog_interval
from tests.service.conftest import ERTUI, SmtpServer, add_mta, finish, start_worker, worker_env


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.5)
    yield sock, str(path)
    sock.close()


def read_until(sock: socket.socket, want: str, got: list[str], seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        got.extend(data.decode().split("\n"))
        if any(line.startswith(want) for line in got):
            return
    raise AssertionError(f"no {want} in {got}")


def first(lines: list[str], prefix: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(prefix))


def test_ready_watchdog_status_stopping_in_order(
    store: Engine, db_url: str, smtp_server: SmtpServer, notify_socket: tuple[socket.socket, str]
) -> None:
    sock, path = notify_socket
    add_mta(store, "A", smtp_server.port)
    add_mta(store, "B", smtp_server.port)
    env = worker_env(NOTIFY_SOCKET=path, WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    proc = start_worker(db_url, env=env)
    got: list[str] = []
    try:
        read_until(sock, "READY=1", got)
        read_until(sock, "STATUS=", got)
        while got.count("WATCHDOG=1") < 3:  # it keeps coming from the loop (every 0.2 s here)
            more: list[str] = []
            read_until(sock, "WATCHDOG=1", more)
            got += more
    finally:
        proc.send_signal(signal.SIGTERM)
    read_until(sock, "STOPPING=1", got)
    code, err = finish(proc)
    assert code == 0, err
    assert first(got, "READY=1") < first(got, "WATCHDOG=1") < first(got, "STATUS=") < first(got, "STOPPING=1")
    assert f"MAINPID={proc.pid}" in got
    assert "STATUS=0 queued, 2/2 MTAs up" in got


def test_without_notify_socket_nothing_changes(store: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    add_mta(store, "A", smtp_server.port)
    env = worker_env()
    env.pop("NOTIFY_SOCKET", None)
    code, err = finish(start_worker(db_url, "--once", env=env))
    assert code == 0 and "Traceback" not in err


def test_abstract_socket_address() -> None:
    name = f"ertui-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        n = Notifier("@" + name)
        assert n.ready() and n.status("1 queued, 1/1 MTAs up") and n.stopping()
        assert sock.recv(4096).decode().startswith("READY=1\n")
        assert sock.recv(4096) == b"STATUS=1 queued, 1/1 MTAs up"
        assert sock.recv(4096).decode().startswith("STOPPING=1")


def test_a_gone_supervisor_is_not_an_error(tmp_path: Path) -> None:
    assert Notifier(str(tmp_path / "nobody-listens")).watchdog() is False


def test_watchdog_interval_is_half_of_systemds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "4000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog_interval() == 2.0
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert watchdog_interval() == 5.0
    monkeypatch.setenv("WATCHDOG_USEC", "junk")
    monkeypatch.delenv("WATCHDOG_PID")
    assert watchdog_interval() == 5.0


def test_logs_for_the_journal_have_no_timestamps(store: Engine, db_url: str, tmp_path: Path) -> None:
    def run(journal: bool) -> str:
        log = tmp_path / f"stderr-{journal}.txt"
        with open(log, "wb") as err:
            st = os.fstat(err.fileno())
            env = worker_env()
            if journal:
                env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
            else:
                env.pop("JOURNAL_STREAM", None)
            proc = subprocess.run(
                [ERTUI, "--db", db_url, "worker", "--once"],
                env=env,
                stderr=err,
                stdout=subprocess.DEVNULL,
                timeout=60,
            )
        assert proc.returncode == 0
        return log.read_text()

    journal, plain = run(True), run(False)
    assert journal.splitlines()[0].startswith("INFO worker ")
    assert plain.splitlines()[0][:4].isdigit() and "Z INFO worker " in plain.splitlines()[0]
    with open(tmp_path / "other", "wb") as other:  # JOURNAL_STREAM naming another stream
        os.environ["JOURNAL_STREAM"] = "1:2"
        try:
            assert not logs_to_journal(other.fileno())
        finally:
            del os.environ["JOURNAL_STREAM"]
