"""Help (`?`): every key of the screen it was opened on."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from ertui.tui.commands import FOCUS_MOVES, SKIP_ACTIONS

ACTION_WIDTH = 22
# The keys of Textual's own widgets that do what an operator expects on our
# screens; their other keys (sideways scrolling, clipboard) are left out of help.
WIDGET_KEYS = frozenset({"cursor_up", "cursor_down", "page_up", "page_down", "toggle_switch", "press", "submit"})


def key_rows(screen: Screen[object]) -> list[tuple[str, str, str]]:
    """(keys, action, what it does) for every binding active on ``screen``."""
    app = screen.app
    rows: dict[tuple[str, str], list[str]] = {}
    tips: dict[tuple[str, str], str] = {}
    moves: set[tuple[str, str]] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or binding.action in SKIP_ACTIONS - {"command_palette"}:
            continue
        if not active.enabled:
            continue  # check_action turned it off here and now
        if binding.id is None and binding.action not in WIDGET_KEYS:
            continue  # a widget's generic key (ctrl+pgup Page Left, copy…): not ours to promise
        # one row per thing done: `?` and F1 (different actions, same help) share a row
        ident = (binding.description, binding.tooltip or binding.action)
        display = app.get_key_display(binding)
        keys = rows.setdefault(ident, [])
        if display not in keys:
            keys.append(display)
        tips.setdefault(ident, binding.tooltip)
        if binding.action in FOCUS_MOVES:
            moves.add(ident)
    found = [((" / ".join(keys), ident[0], tips[ident]), ident) for ident, keys in rows.items()]
    # what the screen does first, then moving the focus, then the widgets' own keys
    return (
        [r for r, i in found if r[2] and i not in moves]
        + [r for r, i in found if i in moves]
        + [r for r, i in found if not r[2] and i not in moves]
    )


def screen_name(screen: Screen[object]) -> str:
    """The title the operator sees: the screen's, or the border title of a dialog's box."""
    if screen.title:
        return screen.title
    for box in screen.query(".dialog"):
        if box.border_title:
            return str(box.border_title)
    return screen.__class__.__name__


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", id="help_close", tooltip="Close the help"),
        Binding("question_mark", "dismiss", "Close", show=False, id="help_close_q", tooltip="Close the help"),
        Binding("q", "dismiss", "Close", show=False, id="help_close_qq", tooltip="Close the help"),
    ]

    def __init__(self, screen: Screen[object]) -> None:
        super().__init__()
        self.rows = key_rows(screen)
        self.screen_title = screen_name(screen)

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, header_style="bold")
        table.add_column("Key", no_wrap=True, style="bold")
        # a widget's key can be named at length ("Move cursor right or accept the
        # completion suggestion"): it wraps in its column, the explanations keep theirs
        table.add_column("Action", max_width=ACTION_WIDTH, overflow="fold")
        # long explanations wrap inside their column (at 80 columns nothing is cut)
        table.add_column("What it does", ratio=1, overflow="fold")
        for keys, desc, tip in self.rows:
            table.add_row(Text(keys), Text(desc), Text(tip))
        with Vertical(id="help-box", classes="dialog") as box:
            box.border_title = f"Keys — {self.screen_title}"
            with VerticalScroll(id="help-body"):
                yield Static(table, id="help-table")
            yield Static(
                Text("ctrl+p or : opens the command palette: every action by name."),
                classes="dialog-hint",
            )
        yield Footer()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
