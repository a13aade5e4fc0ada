"""Cells of the Mail Queue and message screens: local and relative times, status
colours, and every value from the store wrapped in ``rich.text.Text`` (never
markup, so a subject like "[URGENT]" shows as it is)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from rich.console import JustifyMethod
from rich.text import Text

from ertui.store.models import Message, MessageStatus
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
    """ "3 min ago", "in 2 h", "just now", or a dash (as the rest of the console)."""
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
    width: int | None  # fixed, or None: a share of the room the fixed ones leave
    share: int = 0
    min_width: int = 0
    max_width: int = 0  # also where the text is cut (the column adds "…" when narrower)
    hide_below: int = 0  # hidden when the table is narrower than this (the message view has it)


COLUMNS: tuple[Column, ...] = (
    Column("id", "#", 6),
    Column("to", "Receiver", None, share=3, min_width=12, max_width=32),
    Column("subject", "Subject", None, share=3, min_width=12, max_width=40),
    Column("status", "Status", 8),
    Column("attempts", "Tries", 5),
    Column("last", "Last try", 10, hide_below=100),
    Column("next", "Next try", 9, hide_below=120),
    Column("mta", "MTA", None, share=2, min_width=8, max_width=20, hide_below=100),
    Column("error", "Last error", None, share=4, min_width=12, max_width=80),
)
LIMITS = {c.key: c.max_width for c in COLUMNS}


def visible_columns(total: int) -> tuple[Column, ...]:
    return tuple(c for c in COLUMNS if total >= c.hide_below)


def column_widths(total: int, id_width: int = 6) -> dict[str, int]:
    """The width of every column shown in ``total`` cells (padding and scrollbar counted):
    the fixed ones first (``#`` as wide as the largest id on the page), the rest share
    what is left; whatever the caps leave goes to the last error."""
    columns = tuple(replace(c, width=id_width) if c.key == "id" else c for c in visible_columns(total))
    room = total - 2 * len(columns) - 2
    flex = [c for c in columns if c.width is None]
    room -= sum(c.width for c in columns if c.width is not None)
    shares = sum(c.share for c in flex) or 1
    widths = {
        c.key: c.width if c.width is not None else min(c.max_width, max(c.min_width, room * c.share // shares))
        for c in columns
    }
    left = total - 2 * len(columns) - 2 - sum(widths.values())
    if left > 0:
        widths["error"] = min(LIMITS["error"], widths["error"] + left)
    return widths


def _cut(key: str, value: str | None) -> str:
    limit = LIMITS[key]
    return one_line(value, limit) if limit else (value or "")


def _cell(text: str, style: str = "", justify: JustifyMethod | None = None) -> Text:
    """A cell: cut with "…" where its column is narrower than the text."""
    return Text(text, style=style, justify=justify, overflow="ellipsis", no_wrap=True)


def row_cells(msg: Message, mta_names: Mapping[int, str], ref: datetime) -> tuple[Text, ...]:
    """One table row for ``msg``, in the order of :data:`COLUMNS`."""
    mta = mta_names.get(msg.last_mta_id, f"#{msg.last_mta_id}") if msg.last_mta_id else DASH
    return (
        _cell(str(msg.id), style="dim"),
        _cell(_cut("to", msg.recipient)),
        _cell(_cut("subject", msg.subject)),
        status_text(msg.status),
        _cell(str(msg.attempts), justify="right"),
        _cell(relative(msg.last_attempt_at, ref) if msg.last_attempt_at else DASH),
        _cell(next_attempt(msg, ref)),
        _cell(_cut("mta", mta)),
        _cell(_cut("error", msg.last_error) or DASH, style="red" if msg.last_error else "dim"),
    )
