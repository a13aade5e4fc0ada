"""ids never reused; usernames unique regardless of case

On SQLite a row id without AUTOINCREMENT is max(id) + 1, so after a delete or a
purge a new message (attempt, MTA, user, token) got the id of one that is gone,
and old log lines and attempt rows became ambiguous. SQLite adds AUTOINCREMENT
only to a new table: each table is rebuilt from its own CREATE statement (so
its columns, types, constraints and foreign keys stay exactly as they were),
its rows copied with their ids, its indexes made again. This runs with foreign
keys off (``ertui.store.engine.ensure_schema`` turns them off around the
migrations and checks them afterwards): with them on, dropping the old
``message`` table would delete every attempt row through ON DELETE CASCADE.
PostgreSQL sequences never hand out an id twice: nothing to do there.

Usernames become unique regardless of case (``BOB`` and ``bob`` are one
name): a unique index on ``lower(username)``; a name that already collides
with an older one is renamed ``NAME-ID`` first.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Tables whose ids are shown to operators, logged, or referenced.
TABLES = ("mta", "message", "attempt", "user_account", "recovery_token")
USERNAME_INDEX = "ux_user_account_username_ci"

_ID_COLUMN = re.compile(r"(\bid\s+INTEGER\s+NOT\s+NULL)(\s*,)", re.IGNORECASE)
_PK_CONSTRAINT = re.compile(r",\s*PRIMARY\s+KEY\s*\(\s*id\s*\)", re.IGNORECASE)


def _with_autoincrement(create_sql: str, table: str) -> str:
    """The table's CREATE statement with ``id`` as INTEGER PRIMARY KEY AUTOINCREMENT."""
    new, n_pk = _PK_CONSTRAINT.subn("", create_sql, count=1)
    new, n_id = _ID_COLUMN.subn(r"\1 PRIMARY KEY AUTOINCREMENT\2", new, count=1)
    if n_pk != 1 or n_id != 1:
        raise RuntimeError(f"migration 0003: unexpected schema of table {table!r}: {create_sql}")
    return new


def _rebuild_sqlite(conn: sa.Connection, table: str) -> None:
    row = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).first()
    if row is None or "AUTOINCREMENT" in str(row[0]).upper():
        return
    indexes = [
        str(r[0])
        for r in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
        )
    ]
    tmp = f"_ertui_new_{table}"
    create = _with_autoincrement(str(row[0]), table)
    create = re.sub(rf'^\s*CREATE\s+TABLE\s+"?{table}"?', f'CREATE TABLE "{tmp}"', create, count=1, flags=re.I)
    columns = ", ".join(f'"{r[1]}"' for r in conn.exec_driver_sql(f'PRAGMA table_info("{table}")'))
    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{tmp}"')  # left by an attempt that failed midway
    conn.exec_driver_sql(create)
    conn.exec_driver_sql(f'INSERT INTO "{tmp}" ({columns}) SELECT {columns} FROM "{table}"')
    conn.exec_driver_sql(f'DROP TABLE "{table}"')
    conn.exec_driver_sql(f'ALTER TABLE "{tmp}" RENAME TO "{table}"')
    for sql in indexes:
        conn.exec_driver_sql(sql)


def _rename_case_duplicates(conn: sa.Connection) -> None:
    rows = conn.execute(sa.text("SELECT id, username FROM user_account ORDER BY id")).all()
    seen: set[str] = set()
    for user_id, name in rows:
        key = str(name).lower()
        if key in seen:
            new = f"{name}-{user_id}"[:64]
            conn.execute(sa.text("UPDATE user_account SET username = :n WHERE id = :i"), {"n": new, "i": user_id})
            key = new.lower()
        seen.add(key)


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        if conn.exec_driver_sql("PRAGMA foreign_keys").scalar():
            raise RuntimeError("migration 0003 must run with foreign keys off (see ensure_schema)")
        for table in TABLES:
            _rebuild_sqlite(conn, table)
    _rename_case_duplicates(conn)
    op.create_index(USERNAME_INDEX, "user_account", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index(USERNAME_INDEX, table_name="user_account")
