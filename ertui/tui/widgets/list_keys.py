"""The keys people use in lists (less, vim, k9s, lazygit), for the console's tables:
Home/End and g/G go to the first and last row, j/k move down and up. (DataTable's
own Home/End scroll sideways, so End then Enter acted on the first row.)"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable


class ListTable(DataTable[Text]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home,g", "first_row", "First row", show=False, id="list_first", tooltip="Go to the first row"),
        Binding("end,G", "last_row", "Last row", show=False, id="list_last", tooltip="Go to the last row"),
        Binding("j", "cursor_down", "Down", show=False, id="list_down", tooltip="Move down a row"),
        Binding("k", "cursor_up", "Up", show=False, id="list_up", tooltip="Move up a row"),
    ]

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0, scroll=True)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, scroll=True)
