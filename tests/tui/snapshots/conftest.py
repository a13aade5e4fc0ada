"""Snapshot helpers: a populated store, steps that run before the picture, and
no cursor blink (the clock, zone and host name are fixed by tests/tui/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from textual.pilot import Pilot
from textual.widgets import Input

from ertui import mtas, settings
from ertui.mta_rules import Security
from tests.tui.conftest import FIXED_NOW

SIZES = [pytest.param((100, 30), id="100x30"), pytest.param((80, 24), id="80x24")]


async def no_blink(pilot: Pilot[Any]) -> None:
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


def then(*steps: Callable[[Pilot[Any]], object]) -> Callable[[Pilot[Any]], object]:
    """A run_before that runs ``steps`` in order, then turns the blink off."""

    async def run(pilot: Pilot[Any]) -> None:
        for step in steps:
            result = step(pilot)
            if hasattr(result, "__await__"):
                await result
            await pilot.pause()
        await no_blink(pilot)

    return run


@pytest.fixture
def populated(engine: Engine) -> Engine:
    """Two MTAs (one failing), an administrator address, a valid host name."""
    settings.set_admin_email(engine, "admin@example.com")
    mtas.add(
        engine,
        description="Primary relay",
        host="smtp.example.com",
        security=Security.STARTTLS,
        username="mailer",
        password="not-shown",
        max_connections=4,
    )
    mtas.add(engine, description="Backup [DC2]", host="10.20.30.40", port=2525, enabled=False)
    mtas.record_success(engine, 1, when=FIXED_NOW - timedelta(minutes=2))
    mtas.record_failure(
        engine,
        2,
        "refused: Connection refused by 10.20.30.40:2525 ([Errno 111] Connect call failed)",
        when=FIXED_NOW - timedelta(hours=3),
    )
    return engine
