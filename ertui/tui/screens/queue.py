"""The Mail Queue screen: one page of the queue at a time, updated in place.

Only one page (``PAGE_SIZE`` rows) is ever read from the store, by offset, with
a count of the whole filter; ``]`` and ``[`` turn pages. A poll reloads the
current page off the UI thread and reconciles it with the table by message id:
changed cells are updated with ``update_cell``, rows that left the filter are
removed, new ones added, and the cursor stays on the message it was on.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from sqlalchemy.engine import Engine
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static

from ertui.store.models import MessageStatus
from ertui.termsafe import terminal_safe
from ertui.tui.console import console
from ertui.tui.failures import FAILURES, sentence
from ertui.tui.lifecycle import gone
from ertui.tui.messages import DeliveryNotice
from ertui.tui.reads import Reads
from ertui.tui.screens import queue_bulk as bulk
from ertui.tui.screens import queue_keys as keys
from ertui.tui.screens.queue_actions import QueueActionDone, act, confirm_delete
from ertui.tui.screens.queue_filter import ViewFilter, parse
from ertui.tui.screens.queue_page import PAGE_SIZE, PageLoaded, QueueTable, Row, load_page
from ertui.tui.widgets import queue_format as fmt
from ertui.tui.widgets.columns import visible
from ertui.tui.widgets.teardown import ConsoleHeader

STATUS_FILTERS = ("unsent", "failed", "held", "sent", "all")
POLL_SECONDS = 1.0
FILTER_MOST = 200  # characters of a filter, refused beyond as typed


class QueueScreen(bulk.BulkActions):
    """Unsent mail (or failed, held, sent, all), a page at a time."""

    BINDINGS: ClassVar[list[BindingType]] = keys.BINDINGS

    def __init__(
        self, engine: Engine, *, poll_seconds: float | None = POLL_SECONDS, view: ViewFilter | None = None
    ) -> None:
        """``view``: the filter to open with (the Queue shape's row); unsent mail by default."""
        super().__init__(id="queue-screen")
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.view = view or ViewFilter()
        self.page_offset = 0  # how many newer messages come before this page (shown as rows a–b)
        self.anchors: list[int] = []  # the highest id of each page after the first, as paged to
        self.total = 0
        self.loaded = False  # a page has been shown at least once
        self.load_error: str | None = None
        self._rows: dict[int, Row] = {}
        self._order: list[int] = []  # the page's order of the rows in _rows
        self._width = 0  # the width the columns were sized for
        self._id_width = 2  # and the digits of the largest id on the page
        self._to_width = 12  # and the longest receiver on the page
        self._keys: tuple[str, ...] = ()  # the columns shown
        self._pending_top = True  # move the cursor to the top when the next page arrives
        self._timer: Timer | None = None
        self._reads = Reads(self._load, lambda: (self.view, self.page_anchor), self.call_later)
        self.title = "Mail Queue"

    # -- layout ---------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield ConsoleHeader()
        yield Static(id="queue-info")
        yield Static(id="queue-filter-line")
        yield Input(
            placeholder="Words of the receiver or subject, #id, domain:D, mta:M; Enter applies, Esc cancels",
            id="queue-filter",
            max_length=FILTER_MOST,
        )
        yield Static(id="queue-empty")
        yield QueueTable(id="queue-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="queue-selected")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._fit_columns(self.app.size.width)
        self.query_one("#queue-filter", Input).display = False
        self.query_one("#queue-empty", Static).display = False
        self.query_one("#queue-table", DataTable).focus()
        self._show_info()
        self.reload(top=True)
        if self.poll_seconds:
            self._timer = self.set_interval(self.poll_seconds, self._tick)

    def on_resize(self, event: events.Resize) -> None:
        self._fit_columns(event.size.width)

    def _fit_columns(self, width: int, id_width: int | None = None, to_width: int | None = None) -> None:
        """Columns sized to ``width`` (some hidden when narrow), ids of ``id_width``
        digits and receivers of ``to_width``; the rows put back, the cursor on the
        message it was on."""
        id_width = id_width or self._id_width
        to_width = to_width or self._to_width
        if not width or (width, id_width, to_width) == (self._width, self._id_width, self._to_width):
            return
        self._width, self._id_width, self._to_width = width, id_width, to_width
        table = self.table
        current = self.current_id()
        table.clear(columns=True)
        widths = fmt.column_widths(width, id_width, to_width)
        self._keys = tuple(widths)
        for col in visible(fmt.COLUMNS, width):
            table.add_column(col.label, key=col.key, width=widths[col.key])
        for row_id in self._order:
            table.add_row(*self._cells(self._rows[row_id]), key=str(row_id))
        if current is not None and current in self._rows:
            table.move_cursor(row=table.get_row_index(str(current)), scroll=True)

    def _cells(self, row: Row) -> list[Text]:
        """The row's cells of the columns shown."""
        return [cell for col, cell in zip(fmt.COLUMNS, row.cells, strict=True) if col.key in self._keys]

    def _tick(self) -> None:
        """The poll: changes made elsewhere (`ertui worker`, the CLI) show up too."""
        if self.is_current:
            self.reload()

    def on_delivery_notice(self, _message: DeliveryNotice) -> None:
        """The console's worker finished an attempt. Under another screen, the page
        is read again when this one is back."""
        if self.loaded and self.is_current:
            self.reload()

    def on_screen_resume(self) -> None:
        if self.loaded:
            self.reload()

    # -- loading --------------------------------------------------------------
    @property
    def table(self) -> QueueTable:
        return self.query_one("#queue-table", QueueTable)

    def reload(self, top: bool = False) -> None:
        """Read the current page again (off the UI thread).

        One read at a time (``Reads``): asked while one runs, another follows it,
        so a burst of delivery events costs two reads, not one per event.
        """
        if top:
            self._pending_top = True
        self._reads.ask()

    @work(thread=True, group="queue-page")
    def _load(self, key: tuple[ViewFilter, int | None]) -> None:
        self.post_message(load_page(self.engine, *key))

    @on(PageLoaded)
    def _page_loaded(self, event: PageLoaded) -> None:
        fresh = self._reads.done(event.key)  # stale: asked for before the filter or page changed
        if gone(self) or not fresh:
            return
        self.load_error = event.error
        if event.error is None and not event.rows and self.anchors:
            self.anchors.pop()  # the page emptied (deleted, sent): back a page
            self.reload(top=True)
            return
        if event.error is None:
            self.page_offset = event.page_offset
            self.total = event.total
            if event.rows:
                self._fit_columns(
                    self._width,
                    max(2, len(str(max(r.id for r in event.rows)))),
                    max(12, max(len(r.recipient) for r in event.rows)),
                )
            self._reconcile(event.rows)
            self.loaded = True
            self.refresh_bindings()
        self._show_info()

    def _reconcile(self, rows: list[Row]) -> None:
        """Make the table show ``rows`` (in that order) without moving the cursor
        off the message it is on."""
        table = self.table
        cursor_id = self.current_id()
        cursor_index = table.cursor_row
        wanted = {r.id: r for r in rows}
        for left in [i for i in self._rows if i not in wanted]:
            table.remove_row(str(left))
            del self._rows[left]
        keys = [c.key for c in fmt.COLUMNS]
        added = False
        for row in rows:
            old = self._rows.get(row.id)
            if old is None:
                table.add_row(*self._cells(row), key=str(row.id))
                added = True
            elif old.cells != row.cells:
                for key, new, before in zip(keys, row.cells, old.cells, strict=True):
                    if new != before and key in self._keys:
                        table.update_cell(str(row.id), key, new)
            self._rows[row.id] = row
        self._order = [r.id for r in rows]
        if added:  # new rows were appended: put them where the page has them
            position = {str(r.id): n for n, r in enumerate(rows)}
            table.sort("id", key=lambda cell: position[cell.plain])
        if not rows:
            pass
        elif self._pending_top:
            table.move_cursor(row=0, scroll=True)
        elif cursor_id is not None and cursor_id in self._rows:
            table.move_cursor(row=table.get_row_index(str(cursor_id)), scroll=False)
        else:
            table.move_cursor(row=min(cursor_index, len(rows) - 1), scroll=False)
        self._pending_top = False
        self._show_selected()

    @on(DataTable.RowHighlighted, "#queue-table")
    def _highlighted(self) -> None:
        self._show_selected()
        self.refresh_bindings()

    def _show_selected(self) -> None:
        """Narrower than the Last error column needs: the selected row's last error
        is shown under the table."""
        line = self.query_one("#queue-selected", Static)
        line.display = "error" not in self._keys and self.table.row_count > 0
        row = self._rows.get(self.current_id() or 0)
        if not line.display or row is None:
            return
        text = Text(f"#{row.id} last error: ", style="bold", no_wrap=True, overflow="ellipsis")
        text.append_text(row.cells[-1])
        line.update(text)

    def _show_info(self) -> None:
        info = Text()
        info.append(f" {self.status.capitalize()}", style="bold")
        line = self.query_one("#queue-filter-line", Static)
        line.display = self.view.active
        line.update(self.view.line())
        if self.load_error:
            info.append(f" · {terminal_safe(self.load_error)}", style="bold red")
        elif not self.loaded:
            info.append(" · loading…", style="dim")
        elif self.total == 0:
            info.append(" · no messages")
        else:
            page = len(self.anchors) + 1
            after = max(0, self.total - self.page_offset - PAGE_SIZE)
            pages = page + (after + PAGE_SIZE - 1) // PAGE_SIZE
            noun = "message" if self.total == 1 else "messages"
            info.append(f" · {self.total:,} {noun}")
            if pages > 1:
                last = self.page_offset + len(self._order)
                info.append(f" · page {page:,}/{pages:,} · {self.page_offset + 1:,}–{last:,}")
        app = console(self.app)
        extra = app.extra_status if app is not None else ""  # the demo's sink count
        if extra:
            info.append(f" · {extra}", style="dim")
        # one line at any width: cut with "…", the status and count first
        info.no_wrap, info.overflow = True, "ellipsis"
        self.query_one("#queue-info", Static).update(info)
        empty = self.query_one("#queue-empty", Static)
        empty.display = self.loaded and self.total == 0 and not self.load_error
        empty.update(Text(self._empty_sentence()))

    def _empty_sentence(self) -> str:
        what = {"all": "No message", "unsent": "No unsent message"}.get(self.status, f"No {self.status} message")
        if self.view.active:
            return f"{what} matches the filter; / changes it, Esc clears it, s changes the status."
        return f"{what} in the queue; s shows another status."

    # -- the cursor row -------------------------------------------------------
    def current_id(self) -> int | None:
        table = self.table
        if table.row_count == 0:
            return None
        row_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return int(row_key.value) if row_key.value is not None else None

    def _current_row(self) -> Row | None:
        current = self.current_id()
        if current is None:
            self.notify("There is no message here.", severity="warning")
            return None
        return self._rows.get(current)

    # -- actions --------------------------------------------------------------
    @property
    def status(self) -> str:
        return self.view.status

    @property
    def search(self) -> str:
        return self.view.search

    def action_back(self) -> None:
        found = self.query("#queue-filter").results(Input)
        flt = next(found, None)
        if flt is None:  # a key typed ahead, before the screen is built or after it went: nothing to go back from
            return
        if flt.display:
            flt.display = False
            self.table.focus()
            return
        if self.view.active:  # as in k9s: Esc first drops the filter, then leaves
            self.apply_filter(self.view.cleared())
            return
        self.dismiss(None)

    def action_filter(self) -> None:
        flt = self.query_one("#queue-filter", Input)
        flt.display = True
        flt.value = self.view.as_words()
        flt.focus()

    @on(Input.Submitted, "#queue-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            view = parse(event.value.strip(), self.status)
        except FAILURES as exc:  # the sentence under the field's name; the input stays open
            self.notify(sentence(exc), severity="error", markup=False)
            return
        event.input.display = False
        self.table.focus()
        self.apply_filter(view)

    def show_filter(self, search: str) -> None:
        """Filter by a text (receiver, subject or #id), as typed after ``/``."""
        self.apply_filter(ViewFilter(status=self.status, search=search))

    def apply_filter(self, view: ViewFilter) -> None:
        self.view = view
        self.page_offset, self.anchors = 0, []
        self._show_info()
        self.reload(top=True)
        self.refresh_bindings()

    def action_cycle_status(self) -> None:
        index = STATUS_FILTERS.index(self.status) if self.status in STATUS_FILTERS else -1
        self.view = self.view.with_status(STATUS_FILTERS[(index + 1) % len(STATUS_FILTERS)])
        self.page_offset, self.anchors = 0, []
        self.loaded = False
        self._show_info()
        self.reload(top=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers only what applies now: no Retry/Hold/Delete on an
        empty page, ] and [ only where there is a page."""
        if action in ("retry", "hold", "delete"):
            return self.is_mounted and self.table.row_count > 0
        if action == "bulk":  # only with a filter applied
            return self.view.active
        if action == "page":  # "[] Pages" in the footer while there is more than one
            return bool(self.anchors) or self._has_page(1)
        return True

    @property
    def page_anchor(self) -> int | None:
        """The highest id the current page may show (None: the first page, live)."""
        return self.anchors[-1] if self.anchors else None

    def _has_page(self, step: int) -> bool:
        if step < 0:
            return bool(self.anchors)
        return bool(self._order) and self.page_offset + len(self._order) < self.total

    def action_page(self, step: int) -> None:
        """Turn a page, anchored on ids: the next page starts below the last row
        shown, so mail that arrives meanwhile does not move rows between pages."""
        if not self._has_page(step):
            self.notify("There is no page there.", severity="warning", timeout=2)
            return
        if step > 0:
            self.anchors.append(self._order[-1] - 1)
        else:
            self.anchors.pop()
        self.reload(top=True)

    @on(DataTable.RowSelected, "#queue-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        from ertui.tui.screens.message import MessageScreen

        if event.row_key.value is not None:
            self.app.push_screen(MessageScreen(self.engine, int(event.row_key.value), poll_seconds=self.poll_seconds))

    def action_retry(self) -> None:
        row = self._current_row()
        if row is not None:
            self._act("retry", [row.id])

    def action_hold(self) -> None:
        row = self._current_row()
        if row is not None:
            held = row.status == MessageStatus.HELD.value
            self._act("release" if held else "hold", [row.id])

    def action_delete(self) -> None:
        row = self._current_row()
        if row is None:
            return
        target = row.id

        def answered(yes: bool | None) -> None:
            if yes:
                self._act("delete", [target])

        self.app.push_screen(confirm_delete(row.id, row.recipient), answered)

    def action_retry_all(self) -> None:
        if self.view.active:
            self.action_bulk("retry")
        else:
            self._act("retry_all_failed", [])

    @work(thread=True, group="queue-action")
    def _act(self, action: str, ids: list[int]) -> None:
        self.post_message(act(self.engine, action, ids))

    @on(QueueActionDone)
    def _action_done(self, event: QueueActionDone) -> None:
        if gone(self):
            return
        self.notify(event.text, severity=event.severity, markup=False)
        self.reload()
