"""Times for the screen: local, and relative to the console's one clock.

``now`` is a module attribute so that tests can fix the clock; the relative
wording is the core's (``ertui.timeutil.relative``).
"""

from __future__ import annotations

from datetime import datetime

from ertui import timeutil
from ertui.timeutil import as_utc

DASH = "—"


def now() -> datetime:
    """The console's clock."""
    return timeutil.utcnow()


def relative(when: datetime | None, ref: datetime | None = None) -> str:
    """ "just now", "5 s ago", "3 min ago", "in 2 h" (at ``ref``, else now), or a dash."""
    if when is None:
        return DASH
    return timeutil.relative(when, ref or now())


def local(when: datetime | None, ref: datetime | None = None) -> str:
    """The local wall-clock time, to the minute, with the relative time (at ``ref``)."""
    if when is None:
        return DASH
    return f"{as_utc(when).astimezone().strftime('%Y-%m-%d %H:%M')} ({relative(when, ref)})"


def stamp(when: datetime | None, ref: datetime | None = None) -> str:
    """The local time to the second, with its zone and the relative time."""
    if when is None:
        return DASH
    return f"{as_utc(when).astimezone().strftime('%Y-%m-%d %H:%M:%S %Z')} ({relative(when, ref)})"


def clock(when: datetime | None, ref: datetime | None = None) -> str:
    """Local time of day, with the date when it is not today; and how long ago."""
    if when is None:
        return DASH
    here = as_utc(when).astimezone()
    today = as_utc(ref or now()).astimezone().date()
    shown = here.strftime("%H:%M:%S" if here.date() == today else "%Y-%m-%d %H:%M")
    return f"{shown} ({relative(when, ref)})"
