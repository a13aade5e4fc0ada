"""Small pieces shared by the dialogs: a labelled row and the error line under a field."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label, Static, Switch


def switch_state(on: bool) -> str:
    return "on" if on else "off"


def form_row(label: str, field: Widget, *, row_id: str | None = None) -> Horizontal:
    """``label`` on the left, ``field`` on the right; a switch also says "on"/"off"."""
    children: list[Widget] = [Label(label, classes="form-label"), field]
    if isinstance(field, Switch):
        children.append(Label(switch_state(field.value), id=f"{field.id}-state",
                              classes="switch-state"))
    return Horizontal(*children, classes="form-row", id=row_id)


class FieldError(Static):
    """The core's sentence for a field, shown under it; hidden while there is none."""

    def __init__(self, field_id: str) -> None:
        super().__init__(id=f"{field_id}-error", classes="field-error")
        self.message: str | None = None

    def on_mount(self) -> None:
        self.display = False

    def show(self, message: str | None) -> None:
        self.message = message
        self.display = message is not None
        self.update(Text(message or ""))
