"""Times: timezone-aware UTC everywhere in the core and the store (the column
type that keeps them so is ``ertui.store.types.UTCDateTime``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``-free ``+00:00`` offset, or None."""
    if value is None:
        return None
    return as_utc(value).isoformat(timespec="seconds")


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def span(seconds: float) -> str:
    """A length of time, whole units: "42 s", "3 min", "2 h", "4 d"."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


def relative(when: datetime, now: datetime) -> str:
    """``when`` as seen at ``now``: "just now" (within 5 s), "3 min ago", "in 2 h"."""
    delta = (as_utc(when) - as_utc(now)).total_seconds()
    if abs(delta) < 5:
        return "just now"
    return f"in {span(delta)}" if delta > 0 else f"{span(-delta)} ago"


_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: The longest age any option takes (ten years): ``999999999w`` overflows a
#: timedelta, ``99999999d`` a datetime once taken from now.
MAX_AGE = timedelta(days=3650)


def parse_age(text: str) -> timedelta | None:
    """An age as an operator types it: ``90s``, ``30m``, ``2h``, ``3d``, ``1w``
    (a bare number is seconds), at most ``MAX_AGE``; None when it is not one."""
    value = text.strip().lower()
    unit = value[-1:] if value[-1:] in _AGE_UNITS else "s"
    number = value[:-1] if value[-1:] in _AGE_UNITS else value
    if not number.isascii() or not number.isdigit() or len(number) > 9:
        return None
    return age_of(int(number) * _AGE_UNITS[unit])


def age_of(seconds: float) -> timedelta | None:
    """``seconds`` as an age, None beyond ``MAX_AGE`` (checked before a
    timedelta is made, which would overflow)."""
    if not 0 <= seconds <= MAX_AGE.total_seconds():
        return None
    return timedelta(seconds=seconds)
