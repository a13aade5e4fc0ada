"""Helpers for the service tests: the worker helpers of tests/delivery, a
reader of `ertui worker`'s first stdout line, and a wait without sleeps in asserts."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from ertui import actor
from tests.delivery.conftest import ADMIN, ERTUI, add_mta, second_server, start_worker, store, worker_env
from tests.smtpd import SmtpServer

__all__ = [
    "ADMIN",
    "ERTUI",
    "SmtpServer",
    "add_mta",
    "finish",
    "second_server",
    "start_worker",
    "store",
    "wait_for",
    "worker_env",
]


@pytest.fixture(autouse=True)
def api_front_end() -> Iterator[None]:
    """Each test starts as the Python API; a front end under test sets its own."""
    actor.set_front_end("api")
    yield
    actor.set_front_end("api")


def wait_for(pred: Callable[[], object], what: str, seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def finish(proc: subprocess.Popen[bytes], seconds: float = 60) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError("worker did not exit: " + err.decode(errors="replace")) from None
    return proc.returncode, err.decode(errors="replace")
