"""Messages the App sends down to its screens (workers post; handlers own state)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # the App imports this before the store's code is loaded
    from ertui.tui.core import DeliveryEvent


class DeliveryNotice(Message, bubble=False):
    """The delivery worker finished an attempt.

    The App forwards one to every screen on the stack; a screen refreshes
    what it shows.
    """

    def __init__(self, event: DeliveryEvent) -> None:
        super().__init__()
        self.event = event


class DeliveryStateChanged(Message):
    """The background delivery worker started, paused, resumed or stopped."""

    def __init__(self, state: str) -> None:
        super().__init__()
        self.state = state
