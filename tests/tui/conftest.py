"""Every console test (Pilot and snapshots, Mail Settings and Mail Queue) runs
under ONE autouse ``stable`` fixture: a fixed clock, zone and host name, a fixed
secret key (no key file written), short worker polls; apps are made with no
animation and the delivery worker off unless a test wants it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from ertui import settings
from ertui.tui.app import ErtuiApp

FIXED_NOW = datetime(2026, 3, 14, 9, 30, 0, tzinfo=UTC)
HOST_NAME = "console.example.com"


@pytest.fixture(autouse=True)
def stable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr("ertui.tui.timefmt.now", lambda: FIXED_NOW)
    monkeypatch.setattr("ertui.tui.dialogs.test_dialog.clock", lambda: 0.0)  # "Sending… 0.0 s"
    monkeypatch.setattr("ertui.settings.default_host_name", lambda: HOST_NAME)
    # tests must not wait for real backoffs or polls of a worker they start
    monkeypatch.setenv("ERTUI_WORKER_POLL_INTERVAL", "0.05")
    monkeypatch.setenv("ERTUI_WORKER_FLUSH_INTERVAL", "0.05")
    # a fixed secret key: nothing on screen depends on it, but no key file is written
    monkeypatch.setenv("ERTUI_SECRET_KEY", "aMC3ZzJ1x6CbqMy9RRAjbX3HTgGb8XPDzbpEn8HxSzI=")
    yield
    monkeypatch.undo()  # TZ back first, then let the C library see it
    time.tzset()


def make_app(engine: Engine, **kwargs: object) -> ErtuiApp:
    kwargs.setdefault("start_worker", False)
    app = ErtuiApp(engine, **kwargs)  # type: ignore[arg-type]
    app.animation_level = "none"
    return app


@pytest.fixture
def store(engine: Engine) -> Engine:
    """A store with an administrator address (tests can be sent)."""
    settings.set_admin_email(engine, "admin@example.com")
    return engine
