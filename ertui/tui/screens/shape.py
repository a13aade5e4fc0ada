"""Queue shape: where mail waits and since when (``ertui.queue_shape``), by
recipient domain or by the MTA last tried; Enter opens the Mail Queue
filtered to that row."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from sqlalchemy.engine import Engine
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message as TMessage
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ertui import queue_shape
from ertui.errors import ErtuiError
from ertui.termsafe import terminal_safe
from ertui.tui.reads import Reads
from ertui.tui.screens.queue_filter import ViewFilter
from ertui.tui.widgets.teardown import ConsoleHeader

REFRESH_SECONDS = 2.0
KEY_WIDTH = 28


class ShapeRead(TMessage):
    def __init__(self, key: tuple[str, str], shape: queue_shape.Shape | None, error: str | None) -> None:
        super().__init__()
        self.key = key  # (by, status) it was read for
        self.shape = shape
        self.error = error


class ShapeScreen(Screen[None]):
    """The queue's shape, refreshed every two seconds."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "app.help", "Help", id="shape.help", tooltip="List every key of this screen"),
        Binding("escape", "app.pop_screen", "Back", id="shape.back", tooltip="Go back"),
        Binding("b", "toggle_by", "By MTA", id="shape.by", tooltip="Rows by recipient domain or by the MTA last tried"),
        Binding("s", "cycle_status", "Status", id="shape.status", tooltip="Unsent, deferred, failed, held or all"),
        Binding("enter", "open", "Open", id="shape.open", tooltip="The Mail Queue filtered to this row"),
    ]

    def __init__(
        self,
        engine: Engine,
        open_queue: Callable[[ViewFilter], None],
        *,
        by: str = "domain",
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        """``open_queue(view)`` opens the Mail Queue filtered by ``view``
        (the screen that opened this one knows how; no import circle)."""
        super().__init__(id="shape-screen")
        self.engine = engine
        self.open_queue = open_queue
        self.by = by
        self.status = "unsent"
        self.refresh_seconds = refresh_seconds
        self.keys: list[str] = []  # the rows shown, of ``shown``'s (by, status)
        self.shown: tuple[str, str] = (by, self.status)
        self._reads = Reads(self._begin, lambda: (self.by, self.status), self.call_later)

    def compose(self) -> ComposeResult:
        yield ConsoleHeader()
        yield Static(id="shape-header")
        yield DataTable(id="shape-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Queue shape"
        table = self.query_one(DataTable)
        table.add_column(Text(self.by), key="key", width=KEY_WIDTH)
        for name in ("total", *queue_shape.BUCKETS):
            table.add_column(Text(name, justify="right"), key=name)
        self.load()
        self.set_interval(self.refresh_seconds, self.load)

    def load(self) -> None:
        """Read the shape now, or after the read under way."""
        self._reads.ask()

    @work(thread=True, group="shape")
    def _begin(self, key: tuple[str, str]) -> None:
        by, status = key
        try:
            self.post_message(ShapeRead(key, queue_shape.shape(self.engine, by=by, status=status), None))
        except ErtuiError as exc:
            self.post_message(ShapeRead(key, None, str(exc)))

    @on(ShapeRead)
    def _show(self, event: ShapeRead) -> None:
        if not self._reads.done(event.key):  # read before `b` or `s` changed the view
            return
        header = self.query_one("#shape-header", Static)
        if event.shape is None:
            header.update(Text(terminal_safe(event.error or ""), style="bold red"))
            return
        shape = event.shape
        header.update(Text(f"{shape.status.capitalize()} mail by {shape.by} and minutes waiting · Enter opens a row"))
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.columns[next(iter(table.columns))].label = Text(event.key[0])  # before clear(): redrawn
        table.clear()
        self.keys = []
        for row in (shape.total, *shape.rows):
            key_text = Text(terminal_safe(row.key), no_wrap=True, overflow="ellipsis",
                            style="bold" if row is shape.total else "")  # fmt: skip
            cells = [Text(str(n) if n else "·", justify="right") for n in (row.total, *row.counts)]
            table.add_row(key_text, *cells)
            self.keys.append("" if row is shape.total else row.key)
        self.shown = event.key
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))

    def action_toggle_by(self) -> None:
        self.by = "mta" if self.by == "domain" else "domain"
        self.load()

    def action_cycle_status(self) -> None:
        choices = queue_shape.STATUS_CHOICES
        self.status = choices[(choices.index(self.status) + 1) % len(choices)]
        self.load()

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:  # Enter on the table (the table has the key first)
        self.action_open()

    def action_open(self) -> None:
        """The Mail Queue on this row's domain or MTA, at the shape's status (the
        TOTAL row, and MTA "(none yet)", which no filter names: the status alone)."""
        table = self.query_one(DataTable)
        key = self.keys[table.cursor_row] if 0 <= table.cursor_row < len(self.keys) else ""
        by, status = self.shown  # the rows on screen, even just after `b` or `s` (not read yet)
        view = ViewFilter(status=status)
        if key and by == "domain":
            view = ViewFilter(status=status, domain=key)
        elif key and key != queue_shape.NO_MTA:
            view = ViewFilter(status=status, mta=key)
        self.open_queue(view)
