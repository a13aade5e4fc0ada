"""Where ertui keeps things: the store URL, the data and config folders, the key file.

Linux paths follow platformdirs (so ``XDG_DATA_HOME`` / ``XDG_CONFIG_HOME`` move
them); ``ERTUI_DB`` chooses another store, ``ERTUI_SECRET_KEY`` another key and
``ERTUI_KEY_FILE`` another key file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from platformdirs import user_config_path, user_data_path

from ertui.errors import Field, ValidationError

APP_NAME = "ertui"
ENV_DB = "ERTUI_DB"
ENV_SECRET_KEY = "ERTUI_SECRET_KEY"
ENV_KEY_FILE = "ERTUI_KEY_FILE"


def data_dir() -> Path:
    return user_data_path(APP_NAME, appauthor=False)


def config_dir() -> Path:
    return user_config_path(APP_NAME, appauthor=False)


def default_db_path() -> Path:
    return data_dir() / "ertui.db"


def key_file_path() -> Path:
    """``ERTUI_KEY_FILE`` if set (the demo points it into its own folder), else
    ``secret.key`` in the config dir."""
    explicit = os.environ.get(ENV_KEY_FILE)
    return Path(explicit).expanduser() if explicit else config_dir() / "secret.key"


def normalize_db_url(value: str) -> str:
    """An SQLAlchemy URL as it is, or a plain path meaning an SQLite file."""
    if "://" in value:
        return value
    path = Path(value).expanduser()
    return f"sqlite:///{path.resolve()}"


def resolve_db_url(explicit: str | None = None) -> str:
    """``--db`` wins, then ``ERTUI_DB``, then the SQLite file in the data dir."""
    for name, candidate in (("--db", explicit), (ENV_DB, os.environ.get(ENV_DB))):
        if candidate:
            try:
                candidate.encode("utf-8")
            except UnicodeEncodeError:
                sentence = f"{name} is not valid UTF-8; ertui reads UTF-8 only."
                raise ValidationError(Field("db", name), sentence) from None
            return normalize_db_url(candidate)
    return normalize_db_url(str(default_db_path()))


def make_private_dir(path: Path) -> None:
    """Create a folder (and parents) readable by its owner only, if missing."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


_warned: set[str] = set()


def warn_if_shared(path: Path, what: str) -> None:
    """Warn once per process (on stderr) when an existing file holding secrets
    is readable by its group or by everyone; its mode is never changed."""
    key = str(path)
    if key in _warned:
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        _warned.add(key)
        who = "everyone" if mode & stat.S_IROTH else "its group"
        text = f"the {what} {path} is readable by {who} (mode {mode:04o}); `chmod 600 {path}` makes it private."
        if _held is not None:
            _held.append(text)
        else:
            print(f"ertui: warning: {text}", file=sys.stderr)


_held: list[str] | None = None


@contextlib.contextmanager
def warnings_held() -> Iterator[list[str]]:
    """The warnings of ``warn_if_shared`` go to the list yielded instead of
    stderr: the console opens its store while Textual holds the terminal, and
    shows them itself (then prints them when it closes)."""
    global _held
    previous, _held = _held, []
    try:
        yield _held
    finally:
        _held = previous
