"""Helpers for the queue and worker tests: a store with a sender, MTAs on real
aiosmtpd servers, and running a worker in-process or as `ertui worker` processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from ertui import mtas, settings
from ertui.delivery.claims import Claimed
from ertui.delivery.worker import DeliveryEvent, Worker, WorkerSettings
from ertui.store.models import Mta
from tests.smtpd import SmtpServer

ERTUI = str(Path(sys.executable).with_name("ertui"))
ADMIN = "admin@example.com"


def fast_settings(**kw: object) -> WorkerSettings:
    """Small timings so tests stay sub-second; backoff zero: a deferral is due at once."""
    base: dict[str, object] = dict(
        lease_seconds=5.0,
        backoff_base=0.0,
        backoff_max=0.0,
        idle_close_seconds=0.5,
        poll_interval=0.1,
        cooldown_base=30.0,
        flush_interval=0.05,
        stop_timeout=5.0,
    )
    base.update(kw)
    return WorkerSettings(**base)  # type: ignore[arg-type]


def claimed(now: datetime, attempts: int = 0, tries: int = 1, lifetime: timedelta = timedelta(days=5)) -> Claimed:
    """A message as a worker claimed it at ``now``: due then, expiring ``lifetime`` later."""
    return Claimed(
        id=7,
        sender="a@example.com",
        recipient="b@example.com",
        raw=b"x",
        attempts=attempts,
        next_attempt_at=now,
        expires_at=now + lifetime,
        tries=tries,
    )


@pytest.fixture
def store(engine: Engine) -> Engine:
    settings.set_admin_email(engine, ADMIN)
    settings.set_master_host(engine, "mail.example.com")
    return engine


def add_mta(engine: Engine, name: str, port: int, max_connections: int = 2, **kw: object) -> Mta:
    return mtas.add(
        engine,
        description=name,
        host="127.0.0.1",
        port=port,
        max_connections=max_connections,
        **kw,  # type: ignore[arg-type]
    )


def run_worker(
    engine: Engine, settings: WorkerSettings | None = None, events: list[DeliveryEvent] | None = None
) -> Worker:
    """One in-process `--once` run."""
    worker = Worker(engine, settings or fast_settings(), on_event=events.append if events is not None else None)
    asyncio.run(asyncio.wait_for(worker.run(once=True), 30))
    return worker


def worker_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "ERTUI_WORKER_BACKOFF_BASE": "0",
            "ERTUI_WORKER_POLL_INTERVAL": "0.1",
            "ERTUI_WORKER_IDLE_CLOSE_SECONDS": "0.5",
            "ERTUI_WORKER_FLUSH_INTERVAL": "0.05",
        }
    )
    env.update(extra)
    return env


def start_worker(
    db_url: str, *args: str, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    cmd = [ERTUI, "--db", db_url, "worker", *args]
    if log is not None:
        cmd += ["--log-file", str(log)]
    return subprocess.Popen(cmd, env=env or worker_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def second_server() -> Iterator[SmtpServer]:
    with SmtpServer("plain") as srv:
        yield srv


def rename_raw(engine: Engine, mta: Mta, description: str) -> None:
    """Give an MTA a description the services would refuse (control characters),
    as a script writing to the store could: the front ends must still print it safely."""
    from sqlalchemy import update

    with engine.begin() as conn:
        conn.execute(update(Mta).where(Mta.id == mta.id).values(description=description))  # type: ignore[arg-type]


def wait_for(pred: Callable[[], object], what: str, seconds: float = 30) -> None:
    """Poll ``pred`` until it holds (bounded; fails the test otherwise)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def finish(proc: subprocess.Popen[bytes], seconds: float = 60) -> tuple[int, str]:
    """Wait for a worker process to exit: its exit code and stderr."""
    try:
        _, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError("worker did not exit: " + err.decode(errors="replace")) from None
    return proc.returncode, err.decode(errors="replace")
