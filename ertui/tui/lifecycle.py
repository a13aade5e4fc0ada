"""Whether a screen or widget is still there to be updated.

A result that arrives late (a dialog's callback, a page read in a thread, a
timer) may find its screen being torn down, because the console is quitting or
the screen was dismissed: it is dropped, never a crash on a widget that is gone.
"""

from __future__ import annotations

from textual.dom import DOMNode


def gone(node: DOMNode) -> bool:
    """True once ``node`` is closing or detached, or the App is exiting."""
    try:
        app = node.app
    except Exception:  # no active App: nothing to update
        return True
    return bool(getattr(app, "_exit", False)) or node._closing or node._closed or not node.is_attached
