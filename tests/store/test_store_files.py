"""The store's files on disk: where a store may be made, modes of the store,
its lock and the key file, warnings, and a lost key that is never replaced."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ertui import config, mtas
from ertui.cli import cli
from ertui.errors import StoreError, VaultError
from ertui.store.engine import make_engine
from ertui.store.vault import Vault

SECRET = "s3cret-pw-for-the-relay"


@pytest.fixture(autouse=True)
def fresh_warnings() -> Iterator[None]:
    config._warned.clear()
    yield
    config._warned.clear()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_explicit_path_in_a_missing_folder_is_an_error_and_makes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.db"
    with pytest.raises(StoreError, match=r"folder .*nonexistent/dir of the store file x\.db does not exist"):
        make_engine(str(target))
    res = CliRunner().invoke(cli, ["--db", str(target), "mta", "list"])
    assert res.exit_code == 1 and "does not exist" in res.stderr and "No MTA" not in res.output
    assert not (tmp_path / "nonexistent").exists()


def test_the_env_store_in_a_missing_folder_is_an_error_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERTUI_DB", str(tmp_path / "typo" / "x.db"))
    with pytest.raises(StoreError, match="does not exist"):
        make_engine()
    assert not (tmp_path / "typo").exists()


def test_a_read_only_store_says_it_cannot_be_written(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    make_engine(str(path)).dispose()
    path.chmod(0o400)
    if os.access(path, os.W_OK):
        pytest.skip("root writes any file")
    with pytest.raises(StoreError, match=r"ro\.db cannot be written: Permission denied"):
        make_engine(str(path))


def test_a_file_the_system_keeps_read_only_says_it_cannot_be_written() -> None:
    """Even root cannot open /sys/kernel/notes for writing: the same sentence."""
    notes = Path("/sys/kernel/notes")
    try:
        os.close(os.open(notes, os.O_RDWR))
    except PermissionError:
        pass
    except OSError:
        pytest.skip("no read-only system file here")
    else:
        pytest.skip("no read-only system file here")
    with pytest.raises(StoreError, match=r"/sys/kernel/notes cannot be written: Permission denied"):
        make_engine(str(notes))


def test_a_folder_as_the_store_is_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder"):
        make_engine(str(tmp_path))


def test_new_store_and_its_wal_are_0600_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    old = os.umask(0)
    try:
        eng = make_engine(str(path))
        mtas.add(eng, description="r", host="a.example.com")
    finally:
        os.umask(old)
    assert mode(path) == 0o600
    for extra in tmp_path.glob("new.db-*"):
        assert mode(extra) == 0o600, extra
    eng.dispose()


def test_a_group_shared_store_keeps_its_mode_and_is_warned_about_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "shared.db"
    make_engine(str(path)).dispose()
    capsys.readouterr()
    path.chmod(0o660)
    for _ in range(3):
        make_engine(str(path)).dispose()
    assert mode(path) == 0o660
    err = capsys.readouterr().err
    assert err.count("warning") == 1 and "readable by its group" in err and str(path) in err
    res = CliRunner().invoke(cli, ["--db", str(path), "mta", "list"])
    assert res.exit_code == 0 and mode(path) == 0o660


def test_no_lock_file_is_left_beside_a_store_or_a_file_that_is_not_one(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    make_engine(str(store)).dispose()
    garbage = tmp_path / "notes.txt"
    garbage.write_bytes(b"not a database at all " * 100)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE contacts (name TEXT)")
    for path in (store, garbage, other):
        res = CliRunner().invoke(cli, ["--db", str(path), "mta", "list"])
        assert res.exit_code == (0 if path == store else 1), res.output
    assert not list(tmp_path.glob("*lock*"))
    with sqlite3.connect(other) as conn:  # someone else's database is not migrated
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names == {"contacts"}


def test_the_key_file_is_made_0600_and_a_shared_one_is_warned_about(
    isolated_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = os.umask(0)
    try:
        Vault.load()
    finally:
        os.umask(old)
    key = isolated_dirs / "config" / "ertui" / "secret.key"
    assert mode(key) == 0o600
    assert "warning" not in capsys.readouterr().err
    key.chmod(0o644)
    Vault.load()
    Vault.load()
    err = capsys.readouterr().err
    assert err.count("warning") == 1 and "readable by everyone" in err
    assert mode(key) == 0o644


def test_a_deleted_key_is_never_replaced_while_passwords_are_encrypted(isolated_dirs: Path, db_url: str) -> None:
    eng = make_engine(db_url)
    mtas.add(eng, description="relay", host="a.example.com", username="u", password=SECRET)
    key = isolated_dirs / "config" / "ertui" / "secret.key"
    key.unlink()
    with pytest.raises(VaultError, match=r"is missing.*restore the file from a backup"):
        mtas.config_for(mtas.get(eng, "relay"))
    with pytest.raises(VaultError, match="is missing"):
        mtas.add(eng, description="second", host="b.example.com", username="u", password="other-pw")
    res = CliRunner().invoke(
        cli,
        ["--db", db_url, "mta", "edit", "relay", "--password-stdin"],
        input="new-password\n",
    )
    assert res.exit_code == 1 and "restore" in res.stderr and "Traceback" not in res.output
    assert not key.exists()
    # The way out the sentence names: drop the old passwords, then enter them again.
    assert CliRunner().invoke(cli, ["--db", db_url, "mta", "edit", "relay", "--no-auth"]).exit_code == 0
    res = CliRunner().invoke(
        cli,
        ["--db", db_url, "mta", "edit", "relay", "--username", "u", "--password-stdin"],
        input="new-password\n",
    )
    assert res.exit_code == 0, res.output
    assert key.exists() and mtas.config_for(mtas.get(eng, "relay")).password == "new-password"
    eng.dispose()


def test_every_command_warns_about_a_shared_key_file_before_the_console_opens(
    isolated_dirs: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    Vault.load()
    key = isolated_dirs / "config" / "ertui" / "secret.key"
    key.chmod(0o640)
    config._warned.clear()
    res = CliRunner().invoke(cli, ["--db", db_url, "host", "show"])
    assert res.exit_code == 0
    assert "secret key file" in res.stderr and "readable by its group" in res.stderr
    assert mode(key) == 0o640


def test_opening_the_store_again_keeps_the_first_connections_lock(tmp_path: Path) -> None:
    """A second engine on the same file in one process must not drop the first's
    SQLite locks (closing any descriptor of a file drops them all): another
    process must still find the store in use and unable to leave WAL mode."""
    import subprocess
    import sys

    path = tmp_path / "twice.db"
    first = make_engine(str(path))
    probe = "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=0.1); c.execute('PRAGMA journal_mode=DELETE')"

    def other_process_changes_the_journal() -> bool:
        return subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True).returncode == 0

    with first.connect() as conn:
        conn.exec_driver_sql("SELECT 1").all()
        assert not other_process_changes_the_journal()  # the live connection's lock holds
        second = make_engine(str(path))
        assert not other_process_changes_the_journal()  # and still does: nothing dropped it
        second.dispose()
    first.dispose()
