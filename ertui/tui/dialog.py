"""The base of every dialog: a modal screen that still answers `?`/F1 with its keys.

(A modal screen cuts the App's bindings off, so the help key lives here too.)

Tab and shift+tab are priority bindings here: Textual hands a key to the
focused widget's queue and a plain Tab only moves the focus once that widget
gets to it, so keys typed ahead (a burst over SSH, a paste from a runbook)
would all land in the field Tab was leaving. A priority binding moves the focus
before the next key is handed on.
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
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True,
                id="dialog_next", tooltip="Move to the next field or button"),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False,
                priority=True, id="dialog_previous",
                tooltip="Move to the previous field or button"),
    ]
