"""The base of every dialog: a modal screen that still answers `?`/F1 with its keys.

(A modal screen cuts the App's bindings off, so the help key lives here too.)
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

ResultT = TypeVar("ResultT")


class Dialog(ModalScreen[ResultT]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "app.help", "Help", id="dialog_help",
                tooltip="List every key of this dialog"),
        Binding("question_mark", "app.help", "Help", show=False, id="dialog_help_q",
                tooltip="List every key of this dialog (when not typing)"),
    ]
