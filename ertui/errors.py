"""The errors the core raises on purpose. Front ends turn them into a sentence."""

from __future__ import annotations


class ErtuiError(Exception):
    """An expected failure: its message is one sentence for the operator."""

    exit_code = 1


class ValidationError(ErtuiError, ValueError):
    """Bad input: names the field and the rule. Nothing was written."""

    exit_code = 2

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class NotFoundError(ErtuiError, LookupError):
    """A named thing (MTA, message, user) does not exist."""


class StoreError(ErtuiError):
    """The store cannot be opened, read or migrated."""


def store_failure(exc: BaseException) -> str:
    """The one sentence for a store that cannot be read or written (a database
    error, e.g. locked by another process past the busy timeout)."""
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return f"The store cannot be read or written: {reason}."


class VaultError(ErtuiError):
    """A stored secret cannot be decrypted (wrong or missing key)."""
