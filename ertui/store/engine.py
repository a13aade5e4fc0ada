"""The store: an engine factory (never an engine at import time) and its schema.

SQLite gets WAL, a busy timeout, foreign keys and synchronous=NORMAL; a new
file is created mode 0600 (the default location with its parent folders; an
explicit path must name an existing folder); an existing file keeps its mode. PostgreSQL goes through psycopg.
The schema is managed by the Alembic revisions shipped in ``ertui/store/migrations``
and brought up to date whenever a store is opened.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session, SQLModel

from ertui.config import default_db_path, make_private_dir, resolve_db_url, warn_if_shared
from ertui.errors import StoreError
from ertui.store.migrations import HEAD_REVISION

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    if u.query.get("uri") == "true":  # "file:PATH?mode=ro": SQLite opens it itself
        return None
    return Path(u.database)


# Store files (device, inode) this process probed by opening them: never opened again (see below).
_PROBED: set[tuple[int, int]] = set()


def _prepare_sqlite_file(path: Path) -> None:
    """An existing store file is used as it is: its mode is never changed (a
    group-shared 0660 store stays so), a mode readable by others is warned
    about once, and one that cannot be written says so. A new file is created
    0600 before SQLite makes it with the umask; only the default location gets
    its missing folders (owner-only): a typo in --db makes nothing."""
    try:
        found = os.stat(path)
        key = (found.st_dev, found.st_ino) if path.is_file() else None
    except OSError:
        key = None
    if key is not None and key in _PROBED:
        # Never open (and close) a store file this process may hold a SQLite
        # connection on: closing any descriptor of a file drops every POSIX lock
        # the process holds on it, SQLite's included, and another process may
        # then checkpoint and reset the WAL under the live connection (a
        # "database disk image is malformed"). It was probed once already.
        if not os.access(path, os.R_OK | os.W_OK):
            raise StoreError(f"The store file {path} cannot be written: Permission denied.")
        warn_if_shared(path, "store file")
        return
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if os.path.isdir(path):
            raise StoreError(f"The store {path} is a folder, not a file.") from exc
        raise StoreError(f"The store file {path} cannot be written: {exc.strerror}.") from exc
    else:
        os.close(fd)  # before this process opens SQLite on it: no lock to lose yet
        if key is not None:
            _PROBED.add(key)
        warn_if_shared(path, "store file")
        return
    if not path.parent.is_dir():
        if path != default_db_path().expanduser().resolve():
            raise StoreError(
                f"The folder {path.parent} of the store file {path.name} does not exist; "
                "create it first or correct the path."
            )
        try:
            make_private_dir(path.parent)
        except OSError as exc:
            raise StoreError(f"The folder {path.parent} for the store cannot be created: {exc.strerror}.") from exc
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    except FileExistsError:
        return  # another process made it first
    except OSError as exc:
        raise StoreError(f"The store file {path} cannot be created: {exc.strerror}.") from exc
    stat = os.fstat(fd)
    os.close(fd)
    _PROBED.add((stat.st_dev, stat.st_ino))


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def make_engine(url: str | None = None, *, migrate: bool = True) -> Engine:
    """An engine for ``url`` (or the configured store), with its schema up to date."""
    url = resolve_db_url(url)
    try:
        backend = make_url(url).get_backend_name()
    except Exception as exc:  # sqlalchemy raises ArgumentError for junk
        raise StoreError(f"The store URL {redact_url(url)!r} is not a valid database URL.") from exc
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        path = _sqlite_path(url)
        if path is not None:
            _prepare_sqlite_file(path)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    elif backend == "postgresql":
        if make_url(url).drivername == "postgresql":
            url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:
        raise StoreError(f"The store at {redact_url(url)} cannot be opened: {exc}.") from exc
    if backend == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
    if migrate:
        try:
            ensure_schema(engine)
        except StoreError:
            engine.dispose()
            raise
        except SQLAlchemyError as exc:
            engine.dispose()
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise StoreError(f"The store at {redact_url(url)} cannot be opened: {reason}.") from exc
    return engine


_URL_PASSWORD = re.compile(r"(://[^/@:]*):[^/@]*@")
_URL_QUERY_PASSWORD = re.compile(r"([?&][^=&#]*password[^=&#]*)=[^&#]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL with its password shown as ``***``, even when it does not parse:
    the one given before the host and one given as a query parameter
    (``?password=``, ``sslpassword``: libpq takes both)."""
    try:
        parsed = make_url(url)
        hidden = {k: "***" for k in parsed.query if "password" in k.lower()}
        return parsed.update_query_dict(hidden).render_as_string(hide_password=True).replace("=%2A%2A%2A", "=***")
    except Exception:  # sqlalchemy raises ArgumentError or ValueError for junk
        return _URL_QUERY_PASSWORD.sub(r"\1=***", _URL_PASSWORD.sub(r"\1:***@", url))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        except SQLAlchemyError:
            return None
        return None if row is None else str(row[0])


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Only one process migrates a store at a time. On SQLite the lock file
    (0600) exists only while a migration runs: it is removed by its holder, and
    a process that locked a file already removed takes the new one."""
    path = _sqlite_path(str(engine.url))
    if engine.dialect.name == "sqlite" and path is not None:
        with _file_lock(Path(f"{path}.migrate-lock")):
            yield
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(4242017)"))
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(4242017)"))
                conn.commit()
    else:
        yield


@contextlib.contextmanager
def _file_lock(lock: Path) -> Iterator[None]:
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
        except OSError as exc:
            raise StoreError(f"The lock file {lock} cannot be created: {exc.strerror}.") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(lock))
            except FileNotFoundError:
                same = False
            if not same:  # its holder removed it while we waited: lock the new one
                continue
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(lock)
            return
        finally:
            os.close(fd)


def ensure_schema(engine: Engine) -> None:
    """Apply the shipped migrations up to head; cheap when already there."""
    if current_revision(engine) == HEAD_REVISION:
        return
    with _migration_lock(engine):
        if current_revision(engine) == HEAD_REVISION:
            return
        from alembic import command
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", "ertui.store:migrations")
        found = current_revision(engine)
        if found is None and engine.dialect.name == "sqlite" and _has_tables(engine):
            raise StoreError(
                f"The database at {redact_url(str(engine.url))} is not an ertui store "
                "(the file holds other tables and no ertui schema); give the path of an ertui store or a new file."
            )
        known = {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}
        if found is not None and found not in known:
            raise StoreError(
                f"The store at {redact_url(str(engine.url))} was made by a newer version of "
                f"ertui (schema revision {found!r}); use that version or a newer one."
            )
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:  # a table rebuild must not cascade (see migration 0003)
                conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
                conn.commit()
            try:
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                    if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                        raise StoreError(
                            f"The store at {redact_url(str(engine.url))} could not be upgraded: "
                            "its rows would break a foreign key; nothing was changed."
                        )
            finally:
                if sqlite:
                    conn.exec_driver_sql("PRAGMA foreign_keys = ON")
                    conn.commit()


def _has_tables(engine: Engine) -> bool:
    from sqlalchemy import inspect

    names = set(inspect(engine).get_table_names())
    return bool(names) and "alembic_version" not in names  # (an ertui store cut short has it)


P = ParamSpec("P")
R = TypeVar("R")


def store_call(fn: Callable[P, R]) -> Callable[P, R]:
    """A service function whose database errors (locked, read-only, gone, a
    broken connection: SQLAlchemy's DBAPIError and its OperationalError,
    IntegrityError …) reach the front ends as one StoreError sentence."""

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DBAPIError as exc:
            raise StoreError.from_db(exc) from exc

    return call


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


Row = TypeVar("Row", bound=SQLModel)


def update_row(engine: Engine, model: type[Row], row_id: int | None, **values: Any) -> Row | None:
    """Set ``values`` on the row with this id, in one transaction; the row as
    written, or None when it no longer exists. A value may be a SQL expression
    (``col(Mta.consecutive_failures) + 1``)."""
    with session(engine) as s:
        row = s.get(model, row_id)
        if row is None:
            return None
        for key, value in values.items():
            setattr(row, key, value)
        s.add(row)
        s.commit()
        s.refresh(row)
        return row


def delete_row(engine: Engine, model: type[SQLModel], row_id: int | None) -> None:
    """Delete the row with this id, if it still exists."""
    with session(engine) as s:
        row = s.get(model, row_id)
        if row is not None:
            s.delete(row)
            s.commit()
