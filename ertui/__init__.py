"""ertui: a terminal console for a server's outgoing mail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Mailer", "__version__"]

if TYPE_CHECKING:
    from ertui.mailer import Mailer


def __getattr__(name: str) -> Any:
    # Lazy, so that `import ertui` stays cheap and the CLI starts fast.
    if name == "Mailer":
        from ertui.mailer import Mailer

        return Mailer
    raise AttributeError(name)
