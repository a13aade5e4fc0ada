"""The store: file mode, pragmas, migrations, MTA service, secrets at rest —
on a real SQLite file and (where configured) a real PostgreSQL."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ertui import mtas, settings
from ertui.errors import StoreError, ValidationError, VaultError
from ertui.mta_rules import Security
from ertui.store.engine import current_revision, make_engine
from ertui.store.migrations import HEAD_REVISION
from ertui.store.vault import Vault

SECRET = "Tr0ub4dor&3-unique-secret"


def test_default_store_in_user_data_dir_with_mode_0600(isolated_dirs: Path) -> None:
    eng = make_engine()
    path = isolated_dirs / "data" / "ertui" / "ertui.db"
    assert str(eng.url).endswith(str(path))
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    eng.dispose()


def test_plain_path_and_env_choose_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "elsewhere" / "q.sqlite"
    target.parent.mkdir()
    monkeypatch.setenv("ERTUI_DB", str(target))
    eng = make_engine()
    assert target.exists()
    eng.dispose()


def test_sqlite_pragmas(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert (conn.execute(text("PRAGMA busy_timeout")).scalar() or 0) >= 5000
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_schema_at_head_and_reopen_is_idempotent(any_db_url: str) -> None:
    eng = make_engine(any_db_url)
    assert current_revision(eng) == HEAD_REVISION
    tables = set(inspect(eng).get_table_names())
    assert {
        "mta",
        "message",
        "attempt",
        "setting",
        "user_account",
        "recovery_token",
        "mta_slot",
        "worker",
        "alembic_version",
    } <= tables
    eng.dispose()
    eng2 = make_engine(any_db_url)
    assert current_revision(eng2) == HEAD_REVISION
    assert settings.admin_user(eng2).username == "admin"
    eng2.dispose()


def test_head_revision_constant_matches_scripts() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "ertui.store:migrations")
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION


def test_store_from_a_newer_ertui_is_a_sentence(engine: Engine, db_url: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(StoreError, match="newer version of ertui") as info:
        make_engine(db_url)
    assert "9999_future" in str(info.value)


def test_unreadable_store_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_bytes(b"this is not a database file at all" * 100)
    with pytest.raises(StoreError, match="cannot be opened"):
        make_engine(str(bad))


@pytest.mark.parametrize(
    "url",
    [
        "mysql://ops:s3cr3t-pw@127.0.0.1:1/x",  # a driver that is not installed
        "nosuchdb://ops:s3cr3t-pw@127.0.0.1/x",  # an unknown dialect
        "postgresql://ops:s3cr3t-pw@127.0.0.1:notaport/x",  # not a valid URL
    ],
)
def test_store_errors_never_show_the_url_password(url: str) -> None:
    with pytest.raises(StoreError) as info:
        make_engine(url)
    assert "s3cr3t-pw" not in str(info.value)
    assert "ops:***@127.0.0.1" in str(info.value)


def test_read_only_store_by_sqlite_uri_reads_and_refuses_writes(
    engine: Engine, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mtas.add(engine, description="r", host="mail.example.com")
    monkeypatch.chdir(tmp_path)
    ro = make_engine(f"sqlite:///file:{db_path}?mode=ro&uri=true")
    try:
        assert [m.description for m in mtas.list_mtas(ro)] == ["r"]
        with pytest.raises(StoreError, match=r"^The store cannot be read or written: .*readonly") as info:
            mtas.add(ro, description="s", host="mail.example.com")
        assert isinstance(info.value.__cause__, SQLAlchemyError)
    finally:
        ro.dispose()
    assert not (tmp_path / "file:").exists()  # no stray file made from the URI's text


def test_mta_crud(any_engine: Engine) -> None:
    m = mtas.add(
        any_engine,
        description="Gmail",
        host="smtp.gmail.com",
        security=Security.STARTTLS,
        username="ops@example.com",
        password=SECRET,
        max_connections=3,
    )
    assert (m.port, m.use_auth, m.max_connections, m.enabled, m.verify_tls) == (587, True, 3, True, True)
    assert mtas.get(any_engine, "gmail").id == m.id
    assert mtas.get(any_engine, str(m.id)).description == "Gmail"
    with pytest.raises(ValidationError, match="already used"):
        mtas.add(any_engine, description="GMAIL", host="other.example.com")
    mtas.set_enabled(any_engine, "Gmail", False)
    assert mtas.get(any_engine, "Gmail").enabled is False
    edited = mtas.edit(any_engine, "Gmail", host="smtp2.gmail.com")
    assert edited.host == "smtp2.gmail.com"
    assert mtas.config_for(edited).password == SECRET  # unchanged password kept
    off = mtas.edit(any_engine, "Gmail", use_auth=False)
    assert (off.use_auth, off.username, off.password_enc) == (False, None, None)
    mtas.remove(any_engine, "Gmail")
    assert mtas.list_mtas(any_engine) == []


def test_mta_failures_are_counted_and_cool_the_mta_down(engine: Engine) -> None:
    mta = mtas.add(engine, description="r", host="mail.example.com")
    assert mta.id is not None
    assert mtas.record_failure(engine, mta.id, "refused") is None  # a Test: no cooldown
    until = mtas.record_failure(engine, mta.id, "timed out", cooldown=lambda n: 10.0 * n)
    row = mtas.get(engine, mta.id)
    assert (row.consecutive_failures, row.last_error) == (2, "timed out")
    assert until is not None and row.cooldown_until == until
    assert row.last_error_at is not None and until - row.last_error_at == timedelta(seconds=20)
    assert mtas.record_failure(engine, 9999, "gone", cooldown=lambda n: 1.0) is None


def test_failed_add_writes_nothing(engine: Engine) -> None:
    with pytest.raises(ValidationError):
        mtas.add(engine, description="x", host="ok.example.com", port=70000)
    with pytest.raises(ValidationError, match="Password is required"):
        mtas.add(engine, description="x", host="ok.example.com", username="u")
    for bad in (0.0, -1.0, float("nan"), 601.0):  # add took any timeout; edit refused these
        with pytest.raises(ValidationError) as err:
            mtas.add(engine, description="x", host="ok.example.com", timeout=bad)
        assert err.value.field == "Timeout"
    assert mtas.list_mtas(engine) == []


def test_a_config_to_test_is_checked_as_add_checks_it() -> None:
    cfg = mtas.draft_config(host=" mail.example.com ", security=Security.STARTTLS, username="u", password="pw")
    assert (cfg.host, cfg.port, cfg.use_auth, cfg.username) == ("mail.example.com", 587, True, "u")
    assert mtas.draft_config(host="h.example.com", password="stray").password is None
    with pytest.raises(ValidationError, match="Password is required"):
        mtas.draft_config(host="h.example.com", username="u")


def test_a_draft_of_a_stored_mta_keeps_its_password_when_left_empty(engine: Engine) -> None:
    row = mtas.add(engine, description="x", host="h.example.com", username="u", password="pw", timeout=7)
    kept = mtas.draft_config(row, host="h.example.com", use_auth=True, username="u", password="")
    assert (kept.password, kept.timeout, kept.id) == ("pw", 7.0, None)  # a draft: no health recorded
    typed = mtas.draft_config(row, host="h.example.com", use_auth=True, username="u", password="new")
    assert typed.password == "new"
    assert mtas.draft_config(row, host="h.example.com", use_auth=False, username="u").password is None


def test_password_not_in_database_bytes(engine: Engine, db_path: Path) -> None:
    m = mtas.add(engine, description="r", host="mail.example.com", username="u", password=SECRET)
    engine.dispose()  # checkpoint-free: read the main file and the WAL
    blob = b"".join(p.read_bytes() for p in db_path.parent.glob("ertui.db*") if p.is_file())
    assert SECRET.encode() not in blob
    assert m.password_enc and SECRET not in m.password_enc


def test_wrong_key_gives_clear_error(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    mtas.add(engine, description="r", host="mail.example.com", username="u", password=SECRET)
    from cryptography.fernet import Fernet

    monkeypatch.setenv("ERTUI_SECRET_KEY", Fernet.generate_key().decode())
    with pytest.raises(VaultError, match="cannot be decrypted with this secret key"):
        mtas.config_for(mtas.get(engine, "r"))


def test_key_file_mode_and_reuse(isolated_dirs: Path) -> None:
    v1 = Vault.load()
    key = isolated_dirs / "config" / "ertui" / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert Vault.load().decrypt(v1.encrypt("x")) == "x"


def test_invalid_env_key_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERTUI_SECRET_KEY", "short")
    with pytest.raises(VaultError, match="not a valid Fernet key"):
        Vault.load()


def test_key_file_that_cannot_be_made_or_read_is_a_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the config folder should be")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    with pytest.raises(VaultError, match=r"secret key file .*cannot be created"):
        Vault.load()
    key = tmp_path / "cfg" / "ertui" / "secret.key"
    key.parent.mkdir(parents=True)
    key.write_text("garbage")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    with pytest.raises(VaultError, match=re.escape(f"secret key in {key} is not a valid Fernet key")):
        Vault.load()


def test_host_and_admin_settings(any_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "default_host_name", lambda: "ip-10-0-0-1")
    h = settings.master_host(any_engine)
    assert (h.name, h.is_default, h.valid) == ("ip-10-0-0-1", True, False)
    settings.set_master_host(any_engine, "ER.Example.com")
    h = settings.master_host(any_engine)
    assert (h.name, h.is_default, h.valid) == ("er.example.com", False, True)
    assert settings.admin_email(any_engine) is None
    with pytest.raises(settings.NoAdminAddressError, match="admin set-email"):
        settings.require_admin_email(any_engine)
    settings.set_admin_email(any_engine, "Admin@Example.com")
    assert settings.require_admin_email(any_engine) == "Admin@example.com"


def test_no_engine_at_import_and_core_without_textual(tmp_path: Path) -> None:
    """Importing the core creates no store and never imports Textual."""
    code = (
        "import sys, importlib\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'textual' or name.startswith('textual.'):\n"
        "            raise ImportError('textual blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import pkgutil, ertui\n"
        "for m in pkgutil.walk_packages(ertui.__path__, 'ertui.'):\n"
        "    if m.name.startswith(('ertui.tui', 'ertui.store.migrations.', 'ertui.__main__')):\n"
        "        continue\n"
        "    importlib.import_module(m.name)\n"
        "print('ok')\n"
    )
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "d"), XDG_CONFIG_HOME=str(tmp_path / "c"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "d").exists()
