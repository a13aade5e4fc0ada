"""A y/n confirmation for the Mail Queue's destructive actions.

(Used until the console's shared ``ertui.tui.confirm`` modal exists; see
:func:`confirm_screen`.)"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class QueueConfirm(ModalScreen[bool]):
    """Ask a question; dismiss with True (y) or False (n, Esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="queue-confirm.yes", tooltip="Confirm"),
        Binding("n", "answer(False)", "No", id="queue-confirm.no", tooltip="Do not do it"),
        Binding("escape", "answer(False)", "Cancel", id="queue-confirm.cancel", tooltip="Do not do it"),
    ]
    AUTO_FOCUS = "#queue-confirm-no"

    def __init__(self, question: str, *, title: str = "Confirm") -> None:
        super().__init__(classes="queue-confirm")
        self.question = question
        self.confirm_title = title

    def compose(self) -> ComposeResult:
        with Vertical(id="queue-confirm-box", classes="dialog") as box:
            box.border_title = self.confirm_title
            yield Static(Text(self.question), id="queue-confirm-question")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Yes (y)", id="queue-confirm-yes", variant="error")
                yield Button("No (n)", id="queue-confirm-no", variant="primary")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed, "#queue-confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#queue-confirm-no")
    def _no(self) -> None:
        self.dismiss(False)


def confirm_screen(question: str, title: str = "Confirm") -> ModalScreen[bool]:
    """The console's shared confirm modal when it exists, else ours."""
    try:
        from ertui.tui.confirm import ConfirmDialog
    except ImportError:
        return QueueConfirm(question, title=title)
    return ConfirmDialog(question, title=title)
