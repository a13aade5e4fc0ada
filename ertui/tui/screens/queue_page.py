"""One page of the Mail Queue: read in a worker thread, anchored on ids, and the
table that shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from sqlalchemy.engine import Engine
from textual.binding import Binding, BindingType
from textual.message import Message

from ertui import queue, queue_bulk
from ertui.tui import timefmt
from ertui.tui.failures import FAILURES, sentence
from ertui.tui.screens.queue_filter import ViewFilter
from ertui.tui.widgets import queue_format as fmt
from ertui.tui.widgets.list_keys import ListTable

PAGE_SIZE = 100


@dataclass(frozen=True)
class Row:
    id: int
    status: str
    recipient: str
    cells: tuple[Text, ...]


class PageLoaded(Message):
    """A page read by the loader thread, for the filter and anchor it was asked for."""

    def __init__(
        self, key: tuple[ViewFilter, int | None], rows: list[Row], total: int, offset: int, error: str | None
    ) -> None:
        super().__init__()
        self.key = key
        self.rows = rows
        self.total = total
        self.page_offset = offset
        self.error = error


class QueueTable(ListTable):
    """The page of messages; Enter opens the one under the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "select_cursor",
            "Open",
            show=False,
            id="queue.open",
            tooltip="Open the message with its attempt log and body",
        ),
    ]


def load_page(engine: Engine, view: ViewFilter, anchor: int | None) -> PageLoaded:
    """The page of ``view`` whose highest id is ``anchor`` (None: the newest), with
    the count of the whole filter and how many newer ones precede it — read with
    the core's filter (``queue_bulk``), the one the bulk actions use."""
    key = (view, anchor)
    offset = 0
    rows: list[Row] = []
    total = 0
    error: str | None = None
    try:
        flt = view.core()
        total = queue_bulk.count(engine, flt)
        if anchor is not None:  # the page starts at its id: new mail does not move it
            offset = total - queue_bulk.count(engine, flt, max_id=anchor)
        msgs = queue_bulk.page(engine, flt, limit=PAGE_SIZE, max_id=anchor)
        names = queue.mta_names(engine)
        ref = timefmt.now()
        rows = [Row(m.id, m.status, m.recipient, fmt.row_cells(m, names, ref)) for m in msgs if m.id is not None]
    except FAILURES as exc:
        error = sentence(exc)
    return PageLoaded(key, rows, total, offset, error)
