"""One background read at a time, and never a stale one shown: the rule every
screen that reads the store off the UI thread follows.

A screen polls the store in a thread (the Mail Queue's page, the Delivery log,
Queue shape, Mail Settings, the audit log). Left alone, a read slower than the
poll runs beside the next one (``exclusive`` workers are only *marked*
cancelled: a thread runs on), and a result can land after the operator changed
the view or after a newer result: rows for the old filter, a deleted MTA shown
again, a log line twice. ``Reads`` keeps to one read at a time (asked while one
runs, one more follows it: a burst of events costs two reads, not one each),
and drops a result read for another key (the view it was asked for changed
meanwhile), asking again for the current one.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Reads(Generic[K]):
    """``start(key)`` starts a read (in a worker) for the view ``key()`` names;
    its result is shown only if ``done(key)`` says so. ``defer`` runs a call
    after the handler of the result (the screen's ``call_later``), so a read
    that follows starts from the state that result left."""

    def __init__(
        self,
        start: Callable[[K], object],
        key: Callable[[], K],
        defer: Callable[[Callable[[], None]], object],
    ) -> None:
        self._start = start
        self._key = key
        self._defer = defer
        self.busy = False  # a read is under way
        self._again = False  # asked for while it was

    def ask(self) -> None:
        """Read now, or right after the read under way."""
        if self.busy:
            self._again = True
            return
        self.busy = True
        self._again = False
        self._start(self._key())

    def done(self, key: K) -> bool:
        """A read for ``key`` ended (call it first thing with every result, error
        or not). True: show it. False: it is stale, and a new read has started."""
        self.busy = False
        fresh = key == self._key()
        if self._again or not fresh:
            self._again = False
            self._defer(self.ask)
        return fresh
