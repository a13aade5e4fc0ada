"""The console's first frame: Mail Settings' frame, "Opening the store…", while
the store is opened (and SQLAlchemy and the services imported) in a thread.

Still text, no LoadingIndicator: its animation (a refresh every 1/16 s) took
the GIL from the thread opening the store, and the data came ~0.4 s later
(bench/startup.py). Textual only: this module and ``ertui.tui.app`` load no
SQLAlchemy, so the first frame is drawn before any of the store's code is
imported (``tests/tui/test_first_frame.py``).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from ertui.tui.widgets.teardown import ConsoleHeader

LOADING_TEXT = "Opening the store…"


class LoadingScreen(Screen[None]):
    """Shown until the store is open and Mail Settings has its first data."""

    TITLE = "Mail Settings"
    SUB_TITLE = "loading…"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "q",
            "app.quit",
            "Quit",
            id="loading_quit",
            tooltip="Quit the console (nothing has been opened yet)",
        ),
    ]

    def compose(self) -> ComposeResult:
        yield ConsoleHeader()
        with Vertical(id="loading-section"):
            yield Static(LOADING_TEXT, id="loading-text", classes="section-title", markup=False)
        yield Footer(compact=True, show_command_palette=False)
