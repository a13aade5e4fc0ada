"""The operator's queue actions (retry, hold, release, delete, retry all failed),
each one core call, with the sentence the console shows afterwards."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine
from textual.message import Message
from textual.notifications import SeverityLevel

from ertui import queue
from ertui.tui.dialogs.confirm import ConfirmDialog
from ertui.tui.failures import FAILURES, sentence


class QueueActionDone(Message):
    """Posted (from a worker thread) when an action has run, or failed.

    ``severity`` is "information" when something changed, "warning" when the
    core changed nothing (e.g. holding a message being sent), "error" on failure.
    """

    def __init__(self, action: str, text: str, *, severity: SeverityLevel) -> None:
        super().__init__()
        self.action = action
        self.text = text
        self.severity = severity

    @property
    def ok(self) -> bool:
        return self.severity != "error"


def _which(ids: list[int]) -> str:
    return f"Message #{ids[0]}" if len(ids) == 1 else f"{len(ids)} messages"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def run_action(engine: Engine, action: str, ids: list[int]) -> tuple[str, bool]:
    """Do ``action`` through the core; say what happened and whether anything
    changed. Raises ErtuiError (or a store error)."""
    calls: dict[str, Callable[[], int]] = {
        "retry": lambda: queue.retry(engine, ids),
        "hold": lambda: queue.hold(engine, ids),
        "release": lambda: queue.release(engine, ids),
        "delete": lambda: queue.delete(engine, ids),
        "retry_all_failed": lambda: queue.retry_all_failed(engine),
    }
    n = calls[action]()  # how many messages changed
    if action == "retry_all_failed":
        if n == 0:
            return "There is no failed message to retry.", False
        return f"{_plural(n, 'failed message')} will be retried now.", True
    who = _which(ids)
    if n == 0:
        return {
            "retry": f"{who}: nothing to retry: it is {queue.NOT_RETRIED}.",
            "hold": f"{who} cannot be held: only queued, deferred or failed mail can.",
            "release": f"{who} is not held.",
            "delete": f"{who} was already gone.",
        }[action], False
    return {
        "retry": f"{who} will be retried now.",
        "hold": f"{who} held: it is not delivered until released (h).",
        "release": f"{who} released.",
        "delete": f"{who} deleted.",
    }[action], True


def confirm_delete(message_id: int, recipient: str) -> ConfirmDialog:
    """The y/n question before a message is deleted (from the queue or its view)."""
    return ConfirmDialog(
        f"Delete message #{message_id} to {recipient}? It cannot be undone.", title="Delete message", yes="Delete"
    )


def act(engine: Engine, action: str, ids: list[int]) -> QueueActionDone:
    """Run ``action`` (in a worker thread) and say how it went, failures included."""
    try:
        text, changed = run_action(engine, action, ids)
    except FAILURES as exc:
        return QueueActionDone(action, sentence(exc), severity="error")
    return QueueActionDone(action, text, severity="information" if changed else "warning")
