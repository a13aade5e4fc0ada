"""Small pieces shared by the dialogs: a labelled row and the error line under a field."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label, Static, Switch


def switch_state(on: bool) -> str:
    return "on" if on else "off"


class FormRow(Horizontal):
    """A label and its field: a click on the words toggles a switch or focuses a field
    (as a checkbox's label does on the web page)."""

    def __init__(self, field: Widget, *children: Widget, row_id: str | None = None) -> None:
        super().__init__(*children, classes="form-row", id=row_id)
        self.field = field

    # The row is marked while its field has the focus (the stylesheet makes the
    # label bold on the accent colour): Textual's :focus-within is not restyled
    # when the focus moves between rows.
    def on_descendant_focus(self, _event: events.DescendantFocus) -> None:
        self.add_class("-focused")

    def on_descendant_blur(self, _event: events.DescendantBlur) -> None:
        self.remove_class("-focused")

    def on_click(self, event: events.Click) -> None:
        if not isinstance(event.widget, Label) or self.field.disabled:
            return
        if isinstance(self.field, Switch):
            self.field.toggle()
        self.field.focus()


def form_row(label: str, field: Widget, *, row_id: str | None = None) -> FormRow:
    """``label`` on the left, ``field`` on the right; a switch also says "on"/"off"."""
    children: list[Widget] = [Label(label, classes="form-label"), field]
    if isinstance(field, Switch):
        children.append(Label(switch_state(field.value), id=f"{field.id}-state", classes="switch-state"))
    return FormRow(field, *children, row_id=row_id)


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
