"""Migration 0005 (the relay's fields): a store made by the release before
(revision 0004) upgrades in place, on SQLite and on PostgreSQL, and its MTAs
and messages survive with the defaults that change nothing."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from ertui import mtas, queue
from ertui.store.engine import current_revision, make_engine
from ertui.store.migrations import HEAD_REVISION
from ertui.store.vault import Vault

ROW = {"c": "2026-01-01 00:00:00", "e": "2030-01-01 00:00:00"}


def store_at_0004(url: str) -> None:
    raw = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    cfg = Config()
    cfg.set_main_option("script_location", "ertui.store:migrations")
    with raw.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    enc = Vault.load().encrypt("s3cret")
    with raw.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO mta (description, description_key, host, port, security, use_auth, username,"
                " password_enc, max_connections, enabled, verify_tls, timeout, consecutive_failures, sent_count,"
                " created_at, updated_at) VALUES ('Relay', 'relay', 'smtp.example.com', 587, 'starttls', :t, 'u',"
                " :enc, 2, :t, :t, 30, 0, 7, :c, :c)"
            ),
            {"t": True, "enc": enc, **ROW},
        )
        for recipient in ("a@example.com", "b@example.com"):
            conn.execute(
                text(
                    "INSERT INTO message (kind, sender, recipient, subject, body, message_id, raw, status, attempts,"
                    " created_at, next_attempt_at, expires_at, lease_gen) VALUES ('notification', 'x@example.com',"
                    " :r, 's', 'b', '<m@example.com>', :raw, 'queued', 0, :c, :c, :e, 0)"
                ),
                {"r": recipient, "raw": b"Subject: s\r\n\r\nb\r\n", **ROW},
            )
    raw.dispose()


def test_a_store_of_the_release_before_upgrades_with_its_mtas_and_messages(any_db_url: str) -> None:
    store_at_0004(any_db_url)
    eng = make_engine(any_db_url)
    assert current_revision(eng) == HEAD_REVISION == "0005"
    (m,) = mtas.list_mtas(eng)
    view = mtas.to_dict(m)
    assert (view["description"], view["port"], view["username"], view["sent_count"]) == ("Relay", 587, "u", 7)
    assert {k: view[k] for k in ("rate_limit_per_minute", "ehlo_name", "auth_mechanism", "pipelining")} == {
        "rate_limit_per_minute": 0,
        "ehlo_name": None,
        "auth_mechanism": "auto",
        "pipelining": True,
    }
    assert mtas.config_for(m).password == "s3cret"  # the vaulted password still opens
    assert sorted(row.recipient for row in queue.list_messages(eng)) == ["a@example.com", "b@example.com"]
    # The new fields are usable at once.
    edited = mtas.edit(eng, "Relay", rate_limit=30, ehlo_name="out.example.com", pipelining=False)
    assert (edited.rate_limit_per_minute, edited.ehlo_name, edited.pipelining) == (30, "out.example.com", False)
    if eng.dialect.name == "sqlite":  # ADD COLUMN in place: the table keeps AUTOINCREMENT (0003)
        with eng.connect() as conn:
            ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'mta'")).scalar()
        assert "AUTOINCREMENT" in str(ddl)
    eng.dispose()
