"""Snapshots of the Queue shape and the Delivery log at 100x30 and 80x24."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from textual.pilot import Pilot

from ertui import mtas, queue
from ertui.store.models import Message
from ertui.timeutil import utcnow
from ertui.tui.screens.delivery_log import DeliveryLogScreen
from ertui.tui.screens.shape import ShapeScreen
from tests.tui.conftest import FIXED_NOW
from tests.tui.queue.conftest import add_attempt
from tests.tui.test_troubleshooting import Host

SIZES = [pytest.param((100, 30), id="100x30"), pytest.param((80, 24), id="80x24")]
SnapCompare = Callable[..., bool]


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_queue_shape(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    now = utcnow()
    ages = {"busy.example.com": (2, 7, 7, 33, 33, 33, 700), "slow.example.org": (15, 1500), "x.example": (1,)}
    for domain, minutes in ages.items():
        for n, age in enumerate(minutes):
            [mid] = queue.enqueue(store, [f"u{n}@{domain}"], "Report", "Body")
            with store.begin() as conn:
                conn.execute(update(Message).where(Message.id == mid).values(created_at=now - timedelta(minutes=age)))  # type: ignore[arg-type]
    app = Host(lambda: ShapeScreen(store, lambda search: None, refresh_seconds=3600))
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_delivery_log(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    mtas.add(store, description="Relay A", host="relay-a.example.com")
    rows = [
        ("sent", 250, "2.0.0 Ok: queued as 4F2A"),
        ("deferred", 451, "4.3.0 Mailbox busy, try again later"),
        ("failed", 550, "5.1.1 <x@example.com>: Recipient address rejected"),
        ("mta_error", None, "refused"),
    ]
    for n, (outcome, code, text) in enumerate(rows):
        [mid] = queue.enqueue(store, [f"user{n}@example.com"], "Report", "Body")
        add_attempt(store, mid, mta_description="Relay A", started_at=FIXED_NOW - timedelta(seconds=40 - n),
                    duration_ms=120 + n, outcome=outcome, code=code, text=text)  # fmt: skip
    app = Host(lambda: DeliveryLogScreen(store, poll_seconds=3600))
    assert snap_compare(app, terminal_size=size, run_before=settle)
