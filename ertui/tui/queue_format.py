"""Cells of the Mail Queue and message screens: local and relative times, status
colours, and every value from the store wrapped in ``rich.text.Text`` (never
markup, so a subject like "[URGENT]" shows as it is)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from ertui.models import Message, MessageStatus
from ertui.timeutil import as_utc, utcnow

DASH = "—"

STATUS_STYLES: dict[str, str] = {
    MessageStatus.QUEUED.value: "",
    MessageStatus.SENDING.value: "bold cyan",
    MessageStatus.DEFERRED.value: "yellow",
    MessageStatus.HELD.value: "magenta",
    MessageStatus.FAILED.value: "bold red",
    MessageStatus.SENT.value: "green",
}

# Statuses whose "next attempt" means something.
_WAITING = {MessageStatus.QUEUED.value, MessageStatus.DEFERRED.value}


def now() -> datetime:
    """The screens' clock (tests fix it)."""
    return utcnow()


def _span(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


def relative(value: datetime | None, ref: datetime | None = None) -> str:
    """"3 min ago", "in 2 h", "just now", or a dash (as the rest of the console)."""
    if value is None:
        return DASH
    delta = (as_utc(value) - as_utc(ref or now())).total_seconds()
    if abs(delta) < 5:
        return "just now"
    return f"in {_span(delta)}" if delta > 0 else f"{_span(-delta)} ago"


def local(value: datetime | None) -> str:
    """The time in the local zone, to the second."""
    if value is None:
        return DASH
    return as_utc(value).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def clock(value: datetime | None, ref: datetime | None = None) -> str:
    """Local time of day, with the date when it is not today; and how long ago."""
    if value is None:
        return DASH
    here = as_utc(value).astimezone()
    today = as_utc(ref or now()).astimezone().date()
    shown = here.strftime("%H:%M:%S" if here.date() == today else "%Y-%m-%d %H:%M")
    return f"{shown} ({relative(value, ref)})"


def local_and_relative(value: datetime | None, ref: datetime | None = None) -> str:
    if value is None:
        return DASH
    return f"{local(value)} ({relative(value, ref)})"


def one_line(value: str | None, limit: int) -> str:
    """Whitespace folded to single spaces, cut to ``limit`` characters with an ellipsis."""
    if not value:
        return ""
    text = " ".join(value.split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def next_attempt(msg: Message, ref: datetime) -> str:
    if msg.status not in _WAITING:
        return DASH
    if as_utc(msg.next_attempt_at) <= ref:
        return "due"
    return relative(msg.next_attempt_at, ref)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    limit: int | None  # longer values are cut with "…"; the column fits its content


COLUMNS: tuple[Column, ...] = (
    Column("id", "#", None),
    Column("to", "Receiver", 26),
    Column("subject", "Subject", 30),
    Column("status", "Status", None),
    Column("attempts", "Tries", None),
    Column("last", "Last attempt", None),
    Column("next", "Next attempt", None),
    Column("mta", "MTA", 18),
    Column("error", "Last error", 48),
)
LIMITS = {c.key: c.limit for c in COLUMNS}


def _cut(key: str, value: str | None) -> str:
    limit = LIMITS[key]
    return one_line(value, limit) if limit else (value or "")


def row_cells(msg: Message, mta_names: Mapping[int, str], ref: datetime) -> tuple[Text, ...]:
    """One table row for ``msg``, in the order of :data:`COLUMNS`."""
    mta = mta_names.get(msg.last_mta_id, f"#{msg.last_mta_id}") if msg.last_mta_id else DASH
    return (
        Text(str(msg.id), style="dim"),
        Text(_cut("to", msg.recipient)),
        Text(_cut("subject", msg.subject)),
        status_text(msg.status),
        Text(str(msg.attempts), justify="right"),
        Text(relative(msg.last_attempt_at, ref) if msg.last_attempt_at else DASH),
        Text(next_attempt(msg, ref)),
        Text(_cut("mta", mta)),
        Text(_cut("error", msg.last_error) or DASH, style="red" if msg.last_error else "dim"),
    )
