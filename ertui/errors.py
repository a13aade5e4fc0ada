"""The errors the core raises on purpose. Front ends turn them into a sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass


class ErtuiError(Exception):
    """An expected failure: its message is one sentence for the operator."""

    exit_code = 1


@dataclass(frozen=True)
class Field:
    """A field the operator fills in: ``key`` is its stable snake_case name (the
    service's argument, the ``--json`` key: ``"port"``), for a front end to find
    the field; ``label`` is the web page's word for it (``"Host Port"``), used in
    the sentence. The fields of the core are in ``ertui.validate``."""

    key: str
    label: str

    @classmethod
    def of(cls, field: Field | str) -> Field:
        """A Field; a bare label (a front end's own field) gets a key made from it."""
        if isinstance(field, Field):
            return field
        return cls(re.sub(r"[^a-z0-9]+", "_", field.lower()).strip("_"), field)


class ValidationError(ErtuiError, ValueError):
    """Bad input: names the field and the rule. Nothing was written.

    ``key`` is the field's stable key, ``field`` its label, ``message`` the sentence."""

    exit_code = 2

    def __init__(self, field: Field | str, message: str) -> None:
        super().__init__(message)
        the_field = Field.of(field)
        self.key = the_field.key
        self.field = the_field.label
        self.message = message


class NotFoundError(ErtuiError, LookupError):
    """A named thing (MTA, message, user) does not exist."""


class StoreError(ErtuiError):
    """The store cannot be opened, read, written or migrated."""

    @classmethod
    def from_db(cls, exc: BaseException) -> StoreError:
        """The one sentence for a store that failed under a read or a write
        (``exc``: the database's error, e.g. SQLAlchemy's OperationalError)."""
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return cls(f"The store cannot be read or written: {reason}.")


def store_failure(exc: BaseException) -> str:
    """The one sentence for a store that cannot be read or written (a database
    error, e.g. locked by another process past the busy timeout)."""
    return str(StoreError.from_db(exc))


class VaultError(ErtuiError):
    """A stored secret cannot be decrypted (wrong or missing key)."""
