"""Opening the store behind the console's first frame.

`ertui` hands the App a function that opens the store; the App draws
LoadingScreen and calls ``open_in_background``: a daemon thread opens the
store (importing SQLAlchemy, SQLModel and, to migrate, Alembic), imports
Mail Settings and the services, reads what Mail Settings shows first, and
posts one ``Opened`` message with all of it or with the error. A daemon
thread, so that quitting while a remote store does not answer is not held up
by it (an unfinished migration is a transaction that is rolled back).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from textual.message import Message

from ertui import config

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ertui.tui.screens.settings import SettingsView

StoreOpener: TypeAlias = "Callable[[], Engine]"


class Opened(Message):
    """The store was opened (``engine``, with Mail Settings' first ``view``, or
    None when reading it failed: the screen then reads it again and says why),
    or could not be (``error``)."""

    def __init__(
        self,
        engine: Engine | None,
        view: SettingsView | None,
        error: BaseException | None,
        warnings: list[str],
    ) -> None:
        super().__init__()
        self.engine = engine
        self.view = view
        self.error = error
        self.warnings = warnings


def open_store(opener: StoreOpener) -> Opened:
    """Open the store and read Mail Settings' first view (in the calling thread)."""
    with config.warnings_held() as warnings:
        try:
            engine = opener()
        except Exception as exc:  # said by the CLI once the console has closed
            return Opened(None, None, exc, warnings)
    from ertui.tui import core  # noqa: F401  (the worker's modules, loaded here rather than on the App's loop)
    from ertui.tui.failures import FAILURES
    from ertui.tui.screens.settings import load_view

    try:
        view: SettingsView | None = load_view(engine)
    except FAILURES:
        view = None  # Mail Settings reads it again when it mounts, and says why
    return Opened(engine, view, None, warnings)


def open_in_background(opener: StoreOpener, post: Callable[[Opened], object]) -> threading.Thread:
    """Run ``open_store`` in a daemon thread and ``post`` its result (Textual's
    ``post_message`` is safe to call from another thread)."""

    def target() -> None:
        try:
            opened = open_store(opener)
        except Exception as exc:  # a fault, not a store error: the console must not wait forever
            opened = Opened(None, None, exc, [])
        post(opened)

    thread = threading.Thread(target=target, name="ertui-open-store", daemon=True)
    thread.start()
    return thread
