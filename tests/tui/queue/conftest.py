"""Mail Queue screens: a fixed clock and zone, no blink, no animation, no poll.

Pilot tests drive :class:`QueueApp`, a tiny App that opens the Mail Queue
(the console's App pushes the same screen on `m`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from textual.app import App

from ertui import queue, settings
from ertui.store.models import Attempt, Message
from ertui.tui.screens.queue import QueueScreen
from tests.tui.conftest import FIXED_NOW

ROOT = Path(__file__).resolve().parents[3]


def stylesheets() -> list[Path]:
    return [p for p in (ROOT / "ertui.tcss",) if p.is_file()]


class QueueApp(App[None]):
    """Opens the Mail Queue on a store, as the console does on `m`."""

    CSS_PATH = stylesheets()  # type: ignore[assignment]

    def __init__(self, engine: Engine, *, poll_seconds: float | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.animation_level = "none"

    def on_mount(self) -> None:
        self.push_screen(QueueScreen(self.engine, poll_seconds=self.poll_seconds))


@pytest.fixture
def store(engine: Engine) -> Engine:
    settings.set_admin_email(engine, "admin@example.com")
    settings.set_master_host(engine, "console.example.com")
    return engine


def pin_times(engine: Engine, ids: list[int] | None = None) -> None:
    """Give messages fixed times and Message-IDs, so screens look the same every run."""
    t = Message.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        q = update(t)
        if ids is not None:
            q = q.where(t.c.id.in_(ids))
        conn.execute(
            q.values(
                created_at=FIXED_NOW - timedelta(minutes=42),
                next_attempt_at=FIXED_NOW - timedelta(minutes=1),
                expires_at=FIXED_NOW + timedelta(days=5),
                message_id="<fixed@console.example.com>",
            )
        )


def set_fields(engine: Engine, msg_id: int, **values: object) -> None:
    """Put a message into a state the worker would leave it in (test arrangement)."""
    t = Message.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == msg_id).values(**values))


def add_attempt(engine: Engine, msg_id: int, **values: object) -> None:
    from ertui.store.engine import session

    with session(engine) as s:
        s.add(Attempt(message_id=msg_id, **values))  # type: ignore[arg-type]
        s.commit()


def fill(engine: Engine, n: int, subject: str = "Report {i}") -> list[int]:
    items = [(f"user{i:03d}@example.com", subject.format(i=i), f"Body {i}") for i in range(1, n + 1)]
    ids = queue.enqueue_batch(engine, items)
    pin_times(engine)
    return ids
