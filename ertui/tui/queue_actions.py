"""The operator's queue actions (retry, hold, release, delete, retry all failed),
each one core call, with the sentence the console shows afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from textual.message import Message

from ertui import queue


class QueueActionDone(Message):
    """Posted (from a worker thread) when an action has run, or failed."""

    def __init__(self, action: str, text: str, *, ok: bool) -> None:
        super().__init__()
        self.action = action
        self.text = text
        self.ok = ok


def _count(result: Any, default: int) -> int:
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    if isinstance(result, list | tuple | set):
        return len(result)
    return default


def _which(ids: list[int]) -> str:
    return f"Message #{ids[0]}" if len(ids) == 1 else f"{len(ids)} messages"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def run_action(engine: Engine, action: str, ids: list[int]) -> str:
    """Do ``action`` through the core and say what happened. Raises ErtuiError."""
    calls: dict[str, Callable[[], Any]] = {
        "retry": lambda: queue.retry(engine, ids),
        "hold": lambda: queue.hold(engine, ids),
        "release": lambda: queue.release(engine, ids),
        "delete": lambda: queue.delete(engine, ids),
        "retry_all_failed": lambda: queue.retry_all_failed(engine),
    }
    result = calls[action]()
    if action == "retry_all_failed":
        n = _count(result, -1)
        if n < 0:
            return "Every failed message will be retried now."
        if n == 0:
            return "There is no failed message to retry."
        return f"{_plural(n, 'failed message')} will be retried now."
    n = _count(result, len(ids))
    if n == 0:
        return f"{_which(ids)} could not be changed (it is already sent, or gone)."
    return {
        "retry": f"{_which(ids)} will be retried now.",
        "hold": f"{_which(ids)} held: it is not delivered until released (h).",
        "release": f"{_which(ids)} released.",
        "delete": f"{_which(ids)} deleted.",
    }[action]
