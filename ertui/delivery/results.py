"""The worker's unwritten results: message updates, attempt rows, MTA counters,
and the per-minute delivery counts the console draws."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

Batch = tuple[list[dict[str, Any]], list[dict[str, Any]], dict[int, tuple[int, datetime]]]


class ResultBook:
    """Rows waiting for the next write (``ertui.delivery.claims.write``)."""

    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []
        self.attempts: list[dict[str, Any]] = []
        self.successes: dict[int, tuple[int, datetime]] = {}

    def __len__(self) -> int:
        return len(self.results)

    def empty(self) -> bool:
        return not (self.results or self.attempts or self.successes)

    def success(self, mta_id: int, when: datetime) -> None:
        n, _ = self.successes.get(mta_id, (0, when))
        self.successes[mta_id] = (n + 1, when)

    def take(self) -> Batch:
        taken = (self.results, self.attempts, self.successes)
        self.results, self.attempts, self.successes = [], [], {}
        return taken

    def put_back(self, taken: Batch) -> None:
        """A write failed: keep its rows for the next one."""
        results, attempts, successes = taken
        self.results[:0] = results
        self.attempts[:0] = attempts
        for mta_id, (n, when) in successes.items():
            m, _ = self.successes.get(mta_id, (0, when))
            self.successes[mta_id] = (n + m, when)


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
