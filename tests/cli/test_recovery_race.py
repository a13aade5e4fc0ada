"""The recovery rate limit holds when requests race: twelve `ertui user recover`
processes at once, at most five succeed (SQLite and PostgreSQL).

To make the race certain, the test holds back every write to the queue while
the twelve start: each has read the count of recent requests before any of
them can write (as happened with 7 of 12 in the issue). Count and insert must
be one step per user for the limit to hold."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from ertui import queue, recovery, settings, users
from ertui.store.engine import make_engine
from ertui.store.models import RecoveryToken

ERTUI = str(Path(sys.executable).with_name("ertui"))


def test_twelve_parallel_requests_get_at_most_five(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        settings.set_admin_email(engine, "admin@er.example.com")
        settings.set_master_host(engine, "er.example.com")
        users.add_user(engine, "dave", email="dave@example.com")
        with engine.connect() as hold:
            if hold.dialect.name == "sqlite":
                hold.exec_driver_sql("BEGIN IMMEDIATE")  # no writer until released
            else:
                hold.begin()
                hold.exec_driver_sql("LOCK TABLE message IN EXCLUSIVE MODE")  # reads go on
            procs = _start(any_db_url)
            time.sleep(5)  # let them all reach the store (not an assertion: a race made likely)
            hold.rollback()
        results = [(p.wait(120), p.stderr.read().decode() if p.stderr else "") for p in procs]
        for p in procs:
            for pipe in (p.stdout, p.stderr):
                if pipe is not None:
                    pipe.close()
        ok = [err for code, err in results if code == 0]
        refused = [err for code, err in results if code != 0]
        assert len(ok) == recovery.MAX_REQUESTS_PER_HOUR
        odd = [err for err in refused if "already got 5 recovery emails" not in err or "Traceback" in err]
        assert odd == []
        with engine.connect() as conn:
            tokens = conn.execute(select(func.count()).select_from(RecoveryToken)).scalar_one()
        assert tokens == recovery.MAX_REQUESTS_PER_HOUR
        assert queue.count_messages(engine, status="all") == recovery.MAX_REQUESTS_PER_HOUR
    finally:
        engine.dispose()


def _start(db_url: str) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [ERTUI, "--db", db_url, "user", "recover", "dave"],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(12)
    ]
