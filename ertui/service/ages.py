"""Ages on the command line: ``90s``, ``15m``, ``1h``, ``30d``, ``2w``."""

from __future__ import annotations

import re
from datetime import timedelta

from ertui.errors import Field, ValidationError
from ertui.timeutil import MAX_AGE, age_of

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_AGE = re.compile(r"\s*(\d{1,9}(?:\.\d{1,6})?)\s*([smhdw])\s*", re.IGNORECASE | re.ASCII)  # ASCII digits only


def parse_age(text: str, field: Field | str) -> timedelta:
    """A span of time written as a number and a unit; ValidationError naming the field otherwise."""
    f = Field.of(field)
    m = _AGE.fullmatch(text)
    if m is None:
        raise ValidationError(f, f"{f.label} must be an age such as 90s, 15m, 1h, 30d or 2w.")
    age = age_of(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if age is None:
        raise ValidationError(f, f"{f.label} must be at most {format_age(MAX_AGE)}.")
    return age


def format_age(age: timedelta) -> str:
    """The shortest whole form: ``30d``, ``1h``, ``90s``."""
    seconds = int(age.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
