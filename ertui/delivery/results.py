"""The worker's unwritten results: message updates, attempt rows, MTA health
(sent counts and the last contact), and the per-minute delivery counts the
console draws."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from ertui.mtas import Contact

Batch = tuple[list[dict[str, Any]], list[dict[str, Any]], dict[int, Contact]]


class ResultBook:
    """Rows waiting for the next write (``ertui.delivery.claims.write``)."""

    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []
        self.attempts: list[dict[str, Any]] = []
        self.contacts: dict[int, Contact] = {}

    def __len__(self) -> int:
        return len(self.results)

    def empty(self) -> bool:
        return not (self.results or self.attempts or self.contacts)

    def contact(self, mta_id: int, when: datetime, result: str, sent: bool) -> None:
        """The MTA answered: accepted the message (``sent``) or refused it."""
        c = self.contacts.get(mta_id)
        if c is None:
            c = self.contacts[mta_id] = Contact(when, result)
        c.add(when, result, sent)

    def take(self) -> Batch:
        taken = (self.results, self.attempts, self.contacts)
        self.results, self.attempts, self.contacts = [], [], {}
        return taken

    def put_back(self, taken: Batch) -> None:
        """A write failed: keep its rows for the next one."""
        results, attempts, contacts = taken
        self.results[:0] = results
        self.attempts[:0] = attempts
        for mta_id, older in contacts.items():
            newer = self.contacts.get(mta_id)
            if newer is not None:
                older.merge(newer)
            self.contacts[mta_id] = older


class RecentDeliveries:
    """Messages sent per MTA per minute, for the last hour."""

    def __init__(self) -> None:
        self._per: dict[int, dict[int, int]] = {}

    def add(self, mta_id: int) -> None:
        minute = int(time.time() // 60)
        per = self._per.setdefault(mta_id, {})
        per[minute] = per.get(minute, 0) + 1
        if len(per) > 120:
            for old in [m for m in per if m < minute - 60]:
                del per[old]

    def per_minute(self, mta_id: int, minutes: int) -> list[int]:
        """Oldest minute first, the current minute last."""
        now = int(time.time() // 60)
        per = self._per.get(mta_id, {})
        return [per.get(m, 0) for m in range(now - minutes + 1, now + 1)]
