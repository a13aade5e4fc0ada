"""Secrets encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256): MTA
passwords, and the bytes of a message that holds a secret (``store.sealed``).

The key comes from ``ERTUI_SECRET_KEY`` or a file in the user config dir, made
on first use with mode 0600. The store only ever holds the Fernet token.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ertui.config import ENV_SECRET_KEY, key_file_path, make_private_dir
from ertui.errors import VaultError


class Vault:
    def __init__(self, key: bytes, source: str = "The secret key") -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise VaultError(f"{source} is not a valid Fernet key (32 url-safe base64-encoded bytes).") from exc

    @classmethod
    def load(cls, key_file: Path | None = None) -> Vault:
        env = os.environ.get(ENV_SECRET_KEY)
        if env:
            return cls(env.strip().encode(), f"The secret key in {ENV_SECRET_KEY}")
        path = key_file or key_file_path()
        if not path.exists():
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
        return cls(key, f"The secret key in {path}")

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
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
        try:
            return self._fernet.decrypt(token)
        except (InvalidToken, ValueError) as exc:
            raise VaultError(
                "A sealed message cannot be decrypted with this secret key; "
                f"set the key it was sealed with ({ENV_SECRET_KEY} or the key file)."
            ) from exc


def _create_key_file(path: Path) -> None:
    make_private_dir(path.parent)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it first; read theirs
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
