"""A y/n question: `y` (or Yes) answers True, `n`/Esc (or No) False."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Static

from ertui.tui.dialogs.base import Dialog
from ertui.tui.safe import safe


class ConfirmDialog(Dialog[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm_yes", tooltip="Yes, do it"),
        Binding("n", "answer(False)", "No", id="confirm_no", tooltip="No, leave it"),
        Binding("escape", "answer(False)", "Cancel", id="confirm_cancel", tooltip="No, leave it"),
    ]

    def __init__(self, question: str, *, title: str = "Confirm", yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.dialog_title = title
        self.yes_label = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog") as box:
            box.border_title = self.dialog_title
            yield Static(safe(self.question, lines=True), id="confirm-question")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes_label} (y)", id="yes", variant="error")
                yield Button("No (n)", id="no", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
