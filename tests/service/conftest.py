"""Helpers for the service tests: the worker helpers of tests/delivery, a
reader of `ertui worker`'s first stdout line, and a wait without sleeps in asserts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ertui import actor
from tests.delivery.conftest import (
    ADMIN,
    ERTUI,
    add_mta,
    finish,
    second_server,
    start_worker,
    store,
    wait_for,
    worker_env,
)
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
