"""Secrets encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256): MTA
passwords, and the bytes of a message that holds a secret (``store.sealed``).

The key comes from ``ERTUI_SECRET_KEY`` or a file in the user config dir, made
on first use with mode 0600 (an existing file's mode is never changed; one
readable by others is warned about once). The store only ever holds the Fernet
token. A key is made only when nothing is encrypted with a lost one: a key
file deleted while the store holds encrypted passwords is an error that says
how to restore it, never silently replaced.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine

from ertui.config import ENV_SECRET_KEY, key_file_path, make_private_dir, warn_if_shared
from ertui.errors import VaultError

# cryptography loads when a key is used (~30 ms): reading the MTAs without their
# passwords (`mta list`, the console's first screen) does not pay for it.
if TYPE_CHECKING:
    from cryptography.fernet import Fernet

# The columns that hold Fernet tokens: while any holds one, no new key is made.
ENCRYPTED_COLUMNS: tuple[tuple[str, str], ...] = (("mta", "password_enc"), ("mta", "oauth_secret_enc"))


class Vault:
    def __init__(self, key: bytes, source: str = "The secret key") -> None:
        from cryptography.fernet import Fernet

        try:
            self._fernet: Fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise VaultError(f"{source} is not a valid Fernet key (32 url-safe base64-encoded bytes).") from exc

    @classmethod
    def load(cls, key_file: Path | None = None, *, create: bool = True) -> Vault:
        """The key of ``ERTUI_SECRET_KEY``, else of the key file; a missing file
        is made only with ``create`` (to decrypt, pass ``create=False``: a new
        key can decrypt nothing, and would replace the lost one)."""
        env = os.environ.get(ENV_SECRET_KEY)
        if env:
            return cls(env.strip().encode("utf-8", "surrogateescape"), f"The secret key in {ENV_SECRET_KEY}")
        path = key_file or key_file_path()
        if not path.exists():
            if not create:
                raise VaultError(_missing_key(path))
            try:
                _create_key_file(path)
            except OSError as exc:
                raise VaultError(
                    f"The secret key file {path} cannot be created: {exc.strerror}; "
                    f"set {ENV_SECRET_KEY} or XDG_CONFIG_HOME."
                ) from exc
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise VaultError(f"The secret key file {path} cannot be read: {exc.strerror}.") from exc
        warn_if_shared(path, "secret key file")
        return cls(key, f"The secret key in {path}")

    @classmethod
    def for_store(cls, engine: Engine, key_file: Path | None = None) -> Vault:
        """The key to encrypt a new secret for this store: a key file is made
        only while the store holds nothing encrypted."""
        return cls.load(key_file, create=not holds_encrypted(engine))

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise VaultError(
                "The stored MTA password cannot be decrypted with this secret key; "
                f"set the key it was saved with ({ENV_SECRET_KEY} or the key file) "
                "or enter the password again."
            ) from exc

    def seal(self, data: bytes) -> bytes:
        """``data`` encrypted (a Fernet token: URL-safe base64, no newline)."""
        return self._fernet.encrypt(data)

    def unseal(self, token: bytes) -> bytes:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token)
        except (InvalidToken, ValueError) as exc:
            raise VaultError(
                "A sealed message cannot be decrypted with this secret key; "
                f"set the key it was sealed with ({ENV_SECRET_KEY} or the key file)."
            ) from exc


def holds_encrypted(engine: Engine) -> bool:
    """Whether the store holds any secret encrypted with the key."""
    with engine.connect() as conn:
        for table, column in ENCRYPTED_COLUMNS:
            row = conn.execute(text(f"SELECT 1 FROM {table} WHERE {column} IS NOT NULL LIMIT 1")).first()
            if row is not None:
                return True
    return False


def _missing_key(path: Path) -> str:
    return (
        f"The secret key file {path} is missing, and the store holds MTA passwords encrypted with it; "
        f"restore the file from a backup (or set {ENV_SECRET_KEY} to the key), "
        "or enter each password again with `ertui mta edit MTA --password-stdin` after removing "
        "the old ones with `ertui mta edit MTA --no-auth`."
    )


def _create_key_file(path: Path) -> None:
    """Make the key file, whole or not at all: the key is written to a private
    file of its own, then linked in at ``path`` in one step (``link`` fails if
    ``path`` exists). Another process that started at the same moment reads
    either no file or the whole key, never an empty or half-written one; the
    first link wins and every process then reads that key."""
    from cryptography.fernet import Fernet

    make_private_dir(path.parent)
    key = Fernet.generate_key()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: read theirs
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
