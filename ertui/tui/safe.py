"""Text from outside (server replies, subjects, recipients, descriptions, host
names, exception texts) as a ``rich.text.Text`` for the console: never markup,
and every control character shown as a visible escape (``ertui.termsafe``)."""

from __future__ import annotations

from rich.text import Text

from ertui.termsafe import terminal_safe


def safe(value: str | None, style: str = "", *, lines: bool = False) -> Text:
    """``value`` made safe for the terminal; ``lines`` keeps its line breaks."""
    return Text(terminal_safe(value or "", keep_newlines=lines), style=style)


def safe_str(value: str | None, *, lines: bool = False) -> str:
    """The same, as a plain string (for a border title or a Text being built)."""
    return terminal_safe(value or "", keep_newlines=lines)
