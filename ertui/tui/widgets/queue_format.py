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
from ertui.termsafe import terminal_safe
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
    """Terminal-safe (control characters shown as escapes, ``ertui.termsafe``),
    whitespace folded to single spaces, cut to ``limit`` characters with "…"."""
    if not value:
        return ""
    text = " ".join(terminal_safe(value, keep_newlines=True).split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def next_attempt(msg: Message, ref: datetime) -> str:
    if msg.status not in _WAITING:
        return DASH
    if as_utc(msg.next_attempt_at) <= ref:
        return "due"
    return relative(msg.next_attempt_at, ref)


# The web page's three facts (Attempts, Last attempt, Receiver) are kept at every
# width; Receiver gets its room first (as wide as the longest on the page, up to
# RECEIVER_MOST), Subject shares what is left; below ERROR_BELOW the last error of
# the selected row is shown under the table instead of in a column.
RECEIVER_MOST = 40
ERROR_BELOW = 100
COLUMNS: tuple[Column, ...] = (
    Column("id", "#", 6),
    Column("to", "Receiver", None, share=3, min_width=12, max_width=RECEIVER_MOST),
    Column("subject", "Subject", None, share=3, min_width=8, max_width=40),
    Column("status", "Status", 8),
    Column("attempts", "Attempts", 8),
    Column("last", "Last attempt", 12),
    Column("next", "Next attempt", 12, hide_below=130),
    Column("mta", "MTA", None, share=2, min_width=8, max_width=20, hide_below=110),
    Column("error", "Last error", None, share=4, min_width=12, max_width=80, hide_below=ERROR_BELOW),
)
LIMITS = {c.key: c.max_width for c in COLUMNS}
LIMITS["to"] = 0  # cut by its column (with "…"), never before


def column_widths(total: int, id_width: int = 6, to_width: int = 12) -> dict[str, int]:
    """The width of every column shown in ``total`` cells: ``#`` as wide as the
    largest id on the page, Receiver as wide as ``to_width`` (the longest receiver
    on the page) as far as the others' minimums leave room; whatever the caps leave
    goes to the last error (or, when it is not shown, to the subject)."""
    columns = tuple(replace(c, width=id_width) if c.key == "id" else c for c in visible(COLUMNS, total))
    padding = 2 * len(columns) + 2
    others = sum(c.width if c.width is not None else c.min_width for c in columns if c.key != "to")
    receiver = max(8, min(to_width, RECEIVER_MOST, total - padding - others))
    columns = tuple(replace(c, width=receiver) if c.key == "to" else c for c in columns)
    spill = "error" if any(c.key == "error" for c in columns) else "subject"
    return widths(columns, total, spill=spill)


def _cut(key: str, value: str | None) -> str:
    return one_line(value, LIMITS[key] or 10_000)


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
