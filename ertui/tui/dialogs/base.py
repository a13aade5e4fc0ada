"""The bases of the dialogs.

``Dialog``: a modal screen that still answers `?`/F1 with its keys (a modal
screen cuts the App's bindings off, so the help key lives here too).

Tab and shift+tab are priority bindings here: Textual hands a key to the
focused widget's queue and a plain Tab only moves the focus once that widget
gets to it, so keys typed ahead (a burst over SSH, a paste from a runbook)
would all land in the field Tab was leaving. A priority binding moves the focus
before the next key is handed on.

``FormDialog``: Ok (`ctrl+s`, the #ok button) saves, Cancel (Esc, the #cancel
button) closes; it dismisses with a sentence or value saying what was saved,
or None.

``OneFieldDialog``: one Input, checked by one core call; Enter in it confirms.

``FieldsDialog``: a few Inputs, each with its error line; typing in one clears
its error, Enter in any confirms, and ``saving`` says why a save failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Static

from ertui.errors import ValidationError
from ertui.tui.failures import FAILURES, sentence
from ertui.tui.widgets.form_rows import FieldError, form_row

ResultT = TypeVar("ResultT")
SavedT = TypeVar("SavedT")


class Dialog(ModalScreen[ResultT]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "app.help", "Help", id="dialog_help", tooltip="List every key of this dialog"),
        Binding(
            "question_mark",
            "app.help",
            "Help",
            show=False,
            id="dialog_help_q",
            tooltip="List every key of this dialog (when not typing)",
        ),
        Binding(
            "tab",
            "app.focus_next",
            "Next field",
            show=False,
            priority=True,
            id="dialog_next",
            tooltip="Move to the next field or button",
        ),
        Binding(
            "shift+tab",
            "app.focus_previous",
            "Previous field",
            show=False,
            priority=True,
            id="dialog_previous",
            tooltip="Move to the previous field or button",
        ),
    ]


class FormDialog(Dialog[str | None]):
    """Ok saves (``action_save``, to be written), Cancel closes without saving.

    (The keys are the subclass's: bound there, they come in its order in the footer.)
    """

    @staticmethod
    def buttons(*extra: Button) -> Horizontal:
        """The row of buttons: ``extra`` first, then Ok and Cancel."""
        return Horizontal(
            *extra, Button("Ok", id="ok", variant="primary"), Button("Cancel", id="cancel"), classes="dialog-buttons"
        )

    @on(Button.Pressed, "#ok")
    def _ok_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_save(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        self.dismiss(None)


class OneFieldDialog(FormDialog):
    """A hint, one labelled Input (``#<FIELD_ID>``) with its error line, Ok and Cancel.

    A subclass says what the field holds (``initial``), how it is saved
    (``save``: one core call that returns what to dismiss with, or raises
    ValidationError with the sentence to show), and may add widgets under the
    field (``extra``) and react to typing (``changed``).
    """

    BOX_ID: ClassVar[str]
    BOX_TITLE: ClassVar[str]
    FIELD_ID: ClassVar[str]
    LABEL: ClassVar[str]  # names the field on its left
    PLACEHOLDER: ClassVar[str] = ""
    MAX_LENGTH: ClassVar[int] = 254  # refused beyond it as typed (an address's most)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+s",
            "save",
            "Ok",
            id="one_field_ok",
            priority=True,
            tooltip="Check and save (Enter in the field does too)",
        ),
        Binding("escape", "cancel", "Cancel", id="one_field_cancel", tooltip="Close without saving"),
    ]

    def hint(self) -> Text:
        raise NotImplementedError

    def initial(self) -> str:
        raise NotImplementedError

    def save(self, value: str) -> str:
        raise NotImplementedError

    def extra(self) -> ComposeResult:
        yield from ()

    def changed(self, value: str) -> None:
        """The field changed: by default its error goes until the next Ok."""
        self.error.show(None)

    @property
    def field(self) -> Input:
        return self.query_one(f"#{self.FIELD_ID}", Input)

    @property
    def error(self) -> FieldError:
        return self.query_one(f"#{self.FIELD_ID}-error", FieldError)

    def compose(self) -> ComposeResult:
        with Vertical(id=self.BOX_ID, classes="dialog one-field") as box:
            box.border_title = self.BOX_TITLE
            yield Static(self.hint(), classes="dialog-hint")
            yield form_row(
                self.LABEL,
                Input(
                    self.initial(),
                    id=self.FIELD_ID,
                    compact=True,
                    placeholder=self.PLACEHOLDER,
                    max_length=self.MAX_LENGTH,
                ),
            )
            yield FieldError(self.FIELD_ID)
            yield from self.extra()
            yield self.buttons()
        yield Footer()

    def on_mount(self) -> None:
        self.field.focus()

    @on(Input.Changed)
    def _field_changed(self, event: Input.Changed) -> None:
        if event.input.id == self.FIELD_ID:
            self.changed(event.value)

    @on(Input.Submitted)
    def _field_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == self.FIELD_ID:
            self.action_save()

    def action_save(self) -> None:
        try:
            result = self.save(self.field.value)
        except ValidationError as exc:
            self.error.show(exc.message)
            return
        except FAILURES as exc:
            self.notify(sentence(exc), severity="error", markup=False)
            return
        self.dismiss(result)


class FieldsDialog(FormDialog):
    """A few Inputs (``#<id>``), each with its ``FieldError`` (``#<id>-error``)
    under it: typing in a field clears its error, Enter in any field saves."""

    @on(Input.Changed)
    def _clear_error(self, event: Input.Changed) -> None:
        if event.input.id is not None:
            self.query_one(f"#{event.input.id}-error", FieldError).show(None)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def saving(self, save: Callable[[], SavedT], field_for: Callable[[str], str]) -> SavedT | None:
        """What ``save`` (the core call) returns, or None when it failed: a
        ValidationError's sentence under the field ``field_for(its key)``, that
        field focused; any other expected failure as a notification."""
        try:
            return save()
        except ValidationError as exc:
            field_id = field_for(exc.key)
            self.query_one(f"#{field_id}-error", FieldError).show(exc.message)
            self.query_one(f"#{field_id}", Input).focus()
        except FAILURES as exc:
            self.notify(sentence(exc), severity="error", markup=False)
        return None
