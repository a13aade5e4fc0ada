"""Migration 0003: ids are never reused on SQLite; usernames are one name
whatever their case. A store made before upgrades in place with its rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from ertui import mtas, queue, settings, users
from ertui.errors import ValidationError
from ertui.store.engine import current_revision, make_engine
from ertui.store.migrations import HEAD_REVISION


def old_store(path: Path) -> Engine:
    """A store as ertui made it before 0003 (schema revision 0001)."""
    eng = create_engine(f"sqlite:///{path}")
    cfg = Config()
    cfg.set_main_option("script_location", "ertui.store:migrations")
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    return eng


def test_message_and_attempt_ids_are_never_reused(engine: Engine) -> None:
    settings.set_admin_email(engine, "admin@example.com")
    _a, b = queue.enqueue(engine, ["a@example.com", "b@example.com"], "s", "b")
    assert queue.delete(engine, [b]) == 1
    (c,) = queue.enqueue(engine, "c@example.com", "s", "b")
    assert c > b
    m1 = mtas.add(engine, description="one", host="a.example.com")
    mtas.remove(engine, m1.id or 0)
    assert (mtas.add(engine, description="two", host="a.example.com").id or 0) > (m1.id or 0)
    u = users.add_user(engine, "carol")
    users.remove_user(engine, "carol")
    assert (users.add_user(engine, "dave").id or 0) > (u.id or 0)
    with engine.connect() as conn:
        ddl = {r[0]: r[1] for r in conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))}
    for table in ("mta", "message", "attempt", "user_account", "recovery_token"):
        assert "AUTOINCREMENT" in ddl[table], table


def test_an_old_store_upgrades_in_place_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = old_store(path)
    with old.begin() as conn:
        conn.execute(text("PRAGMA foreign_keys = ON"))
        conn.execute(
            text(
                "INSERT INTO mta (id, description, description_key, host, port, security, use_auth, max_connections,"
                " enabled, verify_tls, timeout, consecutive_failures, sent_count, created_at, updated_at)"
                " VALUES (3, 'Relay', 'relay', 'a.example.com', 25, 'none', 0, 2, 1, 1, 30, 0, 0,"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
        for mid in (1, 2, 5):
            conn.execute(
                text(
                    "INSERT INTO message (id, kind, sender, recipient, subject, body, message_id, raw, status,"
                    " attempts, created_at, next_attempt_at, expires_at, last_mta_id) VALUES (:id, 'notification',"
                    " 'a@example.com', 'b@example.com', 's', 'b', '<x@y>', x'00', 'deferred', 1,"
                    " '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2030-01-01 00:00:00', 3)"
                ),
                {"id": mid},
            )
            conn.execute(
                text(
                    "INSERT INTO attempt (message_id, mta_id, mta_description, started_at, duration_ms, outcome)"
                    " VALUES (:id, 3, 'Relay', '2026-01-01 00:00:00', 5, 'deferred')"
                ),
                {"id": mid},
            )
        conn.execute(
            text("INSERT INTO user_account (username, is_default_admin, created_at) VALUES ('bob', 0, '2026-01-01')")
        )
        conn.execute(
            text("INSERT INTO user_account (username, is_default_admin, created_at) VALUES ('BOB', 0, '2026-01-01')")
        )
    old.dispose()

    eng = make_engine(str(path))
    assert current_revision(eng) == HEAD_REVISION
    with eng.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT id FROM message ORDER BY id"))] == [1, 2, 5]
        assert conn.execute(text("SELECT count(*) FROM attempt")).scalar() == 3  # not cascaded away
        assert conn.execute(text("SELECT last_mta_id FROM message WHERE id = 5")).scalar() == 3
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA foreign_key_check")).first() is None
    names = {i["name"] for i in inspect(eng).get_indexes("message")}
    assert {"ix_message_status_id", "ix_message_status_next"} <= names
    assert "ix_attempt_message_id" in {i["name"] for i in inspect(eng).get_indexes("attempt")}
    fks = inspect(eng).get_foreign_keys("attempt")
    assert {(f["referred_table"], f["options"].get("ondelete")) for f in fks} == {
        ("message", "CASCADE"),
        ("mta", "SET NULL"),
    }
    # the names that collided by case: the older one kept, the newer renamed
    assert sorted(u.username for u in users.list_users(eng)) == ["BOB-3", "admin", "bob"]
    # ids go on past the highest ever used; foreign keys act again
    settings.set_admin_email(eng, "admin@example.com")
    queue.delete(eng, [5])
    (new,) = queue.enqueue(eng, "c@example.com", "s", "b")
    assert new == 6
    with eng.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM attempt")).scalar() == 2
    eng.dispose()


@pytest.mark.parametrize(("first", "second"), [("bob", "BOB"), ("admin", "Admin"), ("Carol", "carol")])
def test_usernames_are_unique_whatever_their_case(any_db_url: str, first: str, second: str) -> None:
    engine = make_engine(any_db_url)
    if first != "admin":
        users.add_user(engine, first)
    with pytest.raises(ValidationError, match="already taken"):
        users.add_user(engine, second)
    assert users.get_user(engine, second).username == first
    with engine.begin() as conn, pytest.raises(Exception, match=r"(?i)unique"):
        conn.execute(
            text("INSERT INTO user_account (username, is_default_admin, created_at) VALUES (:n, false, '2026-01-01')"),
            {"n": second.swapcase() if second.swapcase() != first else second},
        )
    engine.dispose()


def test_an_upgrade_that_stopped_midway_is_taken_up_again(tmp_path: Path) -> None:
    """SQLite commits a CREATE TABLE by itself: a rebuild cut short may leave
    its new, empty table behind; the next open must still upgrade the store."""
    path = tmp_path / "half.db"
    old = old_store(path)
    with old.begin() as conn:
        conn.execute(text("CREATE TABLE _ertui_new_message (id INTEGER PRIMARY KEY AUTOINCREMENT)"))
    old.dispose()
    eng = make_engine(str(path))
    assert current_revision(eng) == HEAD_REVISION
    assert "_ertui_new_message" not in inspect(eng).get_table_names()
    eng.dispose()
