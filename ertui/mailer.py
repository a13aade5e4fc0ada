"""The sending API for the rest of the server.

>>> from ertui import Mailer
>>> ids = Mailer().send("ops@example.com", "Scan finished", "The nightly scan found 0 matches.")

``send`` validates like ``ertui send`` (bad input raises ``ertui.errors.ValidationError``,
a ``ValueError`` subclass, with the same sentence) and enqueues one
``notification`` message per recipient; the delivery worker sends them.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from ertui import queue
from ertui.store.engine import make_engine
from ertui.store.models import MessageKind


class Mailer:
    """Enqueue notification emails in the ertui store (``db_url=None``: the default store)."""

    def __init__(self, db_url: str | None = None) -> None:
        self._db_url = db_url
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self._db_url)
        return self._engine

    def send(self, to: str | list[str], subject: str, body: str) -> list[int]:
        """Enqueue one message per recipient; returns their queue ids."""
        return queue.enqueue(self.engine, to, subject, body, MessageKind.NOTIFICATION)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
