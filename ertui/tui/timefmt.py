"""Times for the screen: local, and relative to now.

``now`` is a module attribute so that snapshot tests can fix the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def relative(when: datetime | None) -> str:
    """ "just now", "5 s ago", "3 min ago", "2 h ago", "4 d ago" (or "in …" ahead)."""
    if when is None:
        return "—"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = int((now() - when).total_seconds())
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds < 5:
        return "just now"
    if seconds < 60:
        text = f"{seconds} s"
    elif seconds < 3600:
        text = f"{seconds // 60} min"
    elif seconds < 86400:
        text = f"{seconds // 3600} h"
    else:
        text = f"{seconds // 86400} d"
    return f"in {text}" if ahead else f"{text} ago"


def local(when: datetime | None) -> str:
    """The local wall-clock time, to the minute, with the relative time."""
    if when is None:
        return "—"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return f"{when.astimezone().strftime('%Y-%m-%d %H:%M')} ({relative(when)})"
