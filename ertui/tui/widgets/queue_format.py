"""Cells of the Mail Queue and message screens: status colours, and every value
from the store wrapped in ``rich.text.Text`` (never markup, so a subject like
"[URGENT]" shows as it is). The times are ``ertui.tui.timefmt``'s."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from rich.console import JustifyMethod
from rich.text import Text

from ertui.store.models import Message, MessageStatus
from ertui.timeutil import as_utc
from ertui.tui.timefmt import DASH, relative
from ertui.tui.widgets.columns import Column, visible, widths

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


def column_widths(total: int, id_width: int = 6) -> dict[str, int]:
    """The width of every column shown in ``total`` cells: ``#`` as wide as the
    largest id on the page; whatever the caps leave goes to the last error."""
    columns = tuple(replace(c, width=id_width) if c.key == "id" else c for c in visible(COLUMNS, total))
    return widths(columns, total, spill="error")


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
