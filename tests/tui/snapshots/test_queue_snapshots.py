"""Snapshots of the Mail Queue and message screens at 100x30 and 80x24.

Stable from run to run: fixed clock and zone (conftest), pinned message times
and Message-IDs, no poll, animation off, the filter's cursor not blinking.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from textual.pilot import Pilot
from textual.widgets import Input

from ertui import mtas, queue
from tests.tui.conftest import FIXED_NOW
from tests.tui.queue.conftest import QueueApp, add_attempt, fill, set_fields

SIZES = [pytest.param((100, 30), id="100x30"), pytest.param((80, 24), id="80x24")]
SnapCompare = Callable[..., bool]


def mixed_store(store: Engine) -> list[int]:
    """40 queued messages, and the top ones deferred, failed and held, one with markup."""
    relay = mtas.add(store, description="Relay", host="127.0.0.1", port=2525)
    ids = fill(store, 40, subject="Weekly report {i}")
    set_fields(
        store,
        ids[-1],
        status="deferred",
        attempts=2,
        last_mta_id=relay.id,
        last_error="451 4.3.0 Mailbox busy, try again later",
        last_attempt_at=FIXED_NOW - timedelta(minutes=3),
        next_attempt_at=FIXED_NOW + timedelta(minutes=5),
    )
    set_fields(
        store,
        ids[-2],
        status="failed",
        attempts=5,
        last_mta_id=relay.id,
        subject="[URGENT] [bold]breach[/bold] report",
        last_error="550 5.1.1 <user039@example.com>: Recipient address rejected",
        last_attempt_at=FIXED_NOW - timedelta(hours=2),
    )
    set_fields(store, ids[-3], status="held", held_from="queued")
    add_attempt(
        store,
        ids[-1],
        started_at=FIXED_NOW - timedelta(minutes=10),
        duration_ms=15,
        outcome="mta_error",
        kind="refused",
        mta_description="Broken relay",
        text="Connection refused by 127.0.0.1 port 2",
    )
    add_attempt(
        store,
        ids[-1],
        started_at=FIXED_NOW - timedelta(minutes=3),
        duration_ms=40,
        outcome="deferred",
        kind="recipient_refused",
        code=451,
        mta_description="Relay",
        text="4.3.0 Mailbox busy, try again later",
    )
    return ids


async def loaded(pilot: Pilot[None]) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def steps(*keys: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        for key in keys:
            await pilot.press(key)
            await loaded(pilot)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    return run


def snap(snap_compare: SnapCompare, app: Any, size: tuple[int, int], *keys: str) -> bool:
    return snap_compare(app, terminal_size=size, run_before=steps(*keys))


@pytest.mark.parametrize("size", SIZES)
def test_queue_unsent(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    mixed_store(store)
    assert snap(snap_compare, QueueApp(store), size)


@pytest.mark.parametrize("size", SIZES)
def test_queue_cursor_down(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    mixed_store(store)
    assert snap(snap_compare, QueueApp(store), size, "down", "down")


@pytest.mark.parametrize("size", SIZES)
def test_queue_filter_typing(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    mixed_store(store)
    assert snap(snap_compare, QueueApp(store), size, "slash", *"user03")


@pytest.mark.parametrize("size", SIZES)
def test_queue_filtered_failed(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    mixed_store(store)
    assert snap(snap_compare, QueueApp(store), size, "slash", *"user03", "enter", "s")


@pytest.mark.parametrize("size", SIZES)
def test_queue_empty(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    mixed_store(store)
    assert snap(snap_compare, QueueApp(store), size, "s", "s", "s")  # sent: none


@pytest.mark.parametrize("size", SIZES)
def test_queue_pages(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    fill(store, 250)
    assert snap(snap_compare, QueueApp(store), size, "right_square_bracket")


@pytest.mark.parametrize("size", SIZES)
def test_queue_confirm_delete(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    mixed_store(store)
    assert snap(snap_compare, QueueApp(store), size, "delete")


@pytest.mark.parametrize("size", SIZES)
def test_message_with_attempts(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    mixed_store(store)
    assert snap(snap_compare, QueueApp(store), size, "enter")


@pytest.mark.parametrize("size", SIZES)
def test_message_failed_with_markup(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    mixed_store(store)
    assert snap(snap_compare, QueueApp(store), size, "down", "enter")


@pytest.mark.parametrize("size", SIZES)
def test_message_sent(snap_compare: SnapCompare, store: Engine, size: tuple[int, int]) -> None:
    (mid,) = fill(store, 1, subject="Password recovery")
    set_fields(
        store,
        mid,
        status="sent",
        attempts=1,
        sent_at=FIXED_NOW - timedelta(seconds=30),
        last_attempt_at=FIXED_NOW - timedelta(seconds=30),
        server_reply="250 2.0.0 Ok: queued as 4F2A1C",
    )
    add_attempt(
        store,
        mid,
        started_at=FIXED_NOW - timedelta(seconds=30),
        duration_ms=120,
        outcome="sent",
        code=250,
        mta_description="Relay",
        text="2.0.0 Ok: queued as 4F2A1C",
    )
    assert queue.count_messages(store, status="sent") == 1
    assert snap(snap_compare, QueueApp(store), size, "s", "s", "s", "enter")
