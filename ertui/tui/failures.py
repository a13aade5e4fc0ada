"""What the console catches around a core call, and the sentence it shows for it."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from ertui.errors import ErtuiError, store_failure

# An expected failure of the core, or a store that cannot be read or written
# (e.g. locked by another process past the busy timeout): shown, never a crash.
FAILURES: tuple[type[Exception], ...] = (ErtuiError, SQLAlchemyError)


def sentence(exc: BaseException) -> str:
    if isinstance(exc, SQLAlchemyError):
        return store_failure(exc)
    return str(exc)
