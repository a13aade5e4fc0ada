"""The List of Message Transfer Agents: one row per MTA, updated in place."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.widgets.data_table import RowDoesNotExist

from ertui.mta_rules import Security
from ertui.store.models import Mta
from ertui.termsafe import terminal_safe
from ertui.tui import timefmt
from ertui.tui.timefmt import relative
from ertui.tui.widgets.columns import Column, visible, widths
from ertui.tui.widgets.list_keys import ListTable

COLLAPSED = "◀"
EXPANDED = "▼"

# Below this width the Auth column gives its room to Host Name and Description
# (the username is still in the expanded details).
NARROW = 92

COLUMNS: tuple[Column, ...] = (
    Column("host", "Host Name", share=4, min_width=11),
    Column("description", "Description", share=4, min_width=10),
    Column("port", "Port", 5),
    Column("security", "Security", 8),
    Column("auth", "Auth", share=2, min_width=5, hide_below=NARROW),
    Column("max", "Max", 3),
    Column("state", "Status", 8),
    Column("health", "Health", 11),
)


def health_text(mta: Mta, ref: datetime | None = None) -> Text:
    """Last success or last error, whichever is newer, as a relative time at
    ``ref``; the last contact when it was neither (a message refused); "never
    used" only when it never was."""
    ok, err = mta.last_success_at, mta.last_error_at
    if err is not None and (ok is None or err >= ok):
        return Text(f"✗ {relative(err, ref)}", style="bold red")
    if ok is not None:
        return Text(f"✓ {relative(ok, ref)}", style="green")
    if mta.last_contact_at is not None:  # it answered, refusing the messages
        return Text(f"· {relative(mta.last_contact_at, ref)}", style="yellow")
    return Text("never used", style="dim")


def cell(value: str, style: str = "") -> Text:
    """A cell from data: terminal-safe, one line, cut with "…" by its column."""
    return Text(terminal_safe(value), style=style, no_wrap=True, overflow="ellipsis")


def row_cells(mta: Mta, expanded: bool, ref: datetime | None = None) -> dict[str, Text]:
    marker = EXPANDED if expanded else COLLAPSED
    return {
        "host": cell(f"{marker} {mta.host}"),
        "description": cell(mta.description),
        "port": cell(str(mta.port)),
        "security": cell(Security(mta.security).label),
        "auth": cell(mta.username or "—") if mta.use_auth else cell("—"),
        "max": cell(str(mta.max_connections)),
        "state": cell("Enabled", "green") if mta.enabled else cell("Disabled", "yellow"),
        "health": health_text(mta, ref),
    }


def column_widths(width: int, mtas: list[Mta]) -> dict[str, int]:
    """The columns in ``width`` cells: Description, the column that tells the rows
    apart, as wide as the longest (as far as the others' minimums leave room);
    Host Name and Auth share the rest."""
    columns = visible(COLUMNS, width)
    padding = 2 * len(columns) + 2
    others = sum(c.width if c.width is not None else c.min_width for c in columns if c.key != "description")
    longest = max([len(terminal_safe(m.description)) for m in mtas] + [len("Description")])
    room = width - padding - others
    description = max(10, min(longest, room))
    return widths(tuple(replace(c, width=description) if c.key == "description" else c for c in columns), width)


class MtaTable(ListTable):
    """Rows keyed by MTA id; Enter/→/← expand and collapse (the screen owns that state)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "screen.toggle_expand",
            "Details",
            show=False,
            id="mta_toggle_details",
            tooltip="Expand or collapse the MTA's details",
        ),
        Binding("right", "screen.expand", "Expand", show=False, id="mta_expand", tooltip="Show the MTA's details"),
        Binding("left", "screen.collapse", "Collapse", show=False, id="mta_collapse", tooltip="Hide the MTA's details"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, id=id)
        self._width = 0
        self._keys: tuple[str, ...] = ()
        self._shown: list[Mta] = []
        self._expanded: int | None = None
        self._sizes: dict[str, int] = {}

    def _build_columns(self, width: int) -> None:
        self._width = width
        columns = visible(COLUMNS, width)
        sizes = column_widths(width, self._shown)
        self._sizes = sizes
        self.clear(columns=True)
        self._keys = tuple(sizes)
        for column in columns:
            self.add_column(Text(column.label), width=sizes[column.key], key=column.key)

    def _available_width(self) -> int:
        return self.size.width or self.app.size.width

    def on_mount(self) -> None:
        self._build_columns(self._available_width())

    def on_resize(self, event: Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        """Rebuild the columns when the room changed (a resize, or shown after hidden)."""
        if width and abs(width - self._width) > 1:
            current = self.current_id
            self._build_columns(width)
            self.show(self._shown, self._expanded, keep=current)

    @property
    def current_id(self) -> int | None:
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return None if key.value is None else int(key.value)

    def show(self, mtas: list[Mta], expanded: int | None, keep: int | None = None) -> None:
        """Show ``mtas``: cells updated in place when the rows are the same MTAs."""
        keep = self.current_id if keep is None else keep
        self._shown, self._expanded = list(mtas), expanded
        width = self._available_width()  # the App's width while hidden (no Resize then)
        if abs(width - self._width) > 1 or column_widths(width, self._shown) != self._sizes:
            self._build_columns(width)  # resized, or a longer description came
            self._fill(mtas, expanded, keep)
            return
        wanted = [str(m.id) for m in mtas]
        present = [str(k.value) for k in self.rows]
        if wanted == present:
            ref = timefmt.now()  # every row's time on the same tick
            for mta in mtas:
                cells = row_cells(mta, mta.id == expanded, ref)
                for col in self._keys:
                    self.update_cell(str(mta.id), col, cells[col])
            return
        self._fill(mtas, expanded, keep)

    def _fill(self, mtas: list[Mta], expanded: int | None, keep: int | None) -> None:
        self.clear()
        ref = timefmt.now()
        for mta in mtas:
            cells = row_cells(mta, mta.id == expanded, ref)
            self.add_row(*(cells[key] for key in self._keys), key=str(mta.id))
        if keep is not None:
            self.select_id(keep)

    def select_id(self, mta_id: int) -> None:
        try:
            index = self.get_row_index(str(mta_id))
        except RowDoesNotExist:
            return
        self.move_cursor(row=index)
