"""What the screens use of the App, as a Protocol: a screen reaches the App
through it without importing ``ertui.tui.app`` (which imports the screens).

``ErtuiApp`` satisfies it; a screen hosted by another App (a test's, a
benchmark's) finds ``console(app)`` None and does without.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # the App imports this before the store's code is loaded
    from sqlalchemy.engine import Engine

    from ertui.tui.core import Worker

# The states of the console's delivery worker, shown in the status line.
RUNNING = "running"
PAUSED = "paused"
OFF = "off"
STOPPED = "stopped"


@runtime_checkable
class Console(Protocol):
    @property
    def engine(self) -> Engine: ...

    @property
    def delivery(self) -> Worker | None:
        """The console's delivery worker, None when it is off."""

    @property
    def worker_state(self) -> str:
        """ "running", "paused", "off" or "stopped" (a reactive of the App)."""

    @property
    def extra_status(self) -> str:
        """A line the App adds to the status (the demo's sink count), or ""."""


def console(app: object) -> Console | None:
    """``app`` as the console's App, or None when it is another App."""
    return app if isinstance(app, Console) else None
