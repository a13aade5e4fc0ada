"""The command line of the foundation: every command, bad input, --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ertui import mtas
from ertui.store.engine import make_engine
from ertui.store.vault import Vault
from tests.cli.conftest import listed

SECRET = "pa55-not-in-argv-Ωmega"


def test_add_list_json_has_the_keys_and_no_password(run) -> None:  # type: ignore[no-untyped-def]
    res = run(
        "mta",
        "add",
        "--description",
        "Gmail",
        "--host",
        "smtp.gmail.com",
        "--starttls",
        "--username",
        "ops@example.com",
        "--password-stdin",
        "--max-connections",
        "3",
        input=SECRET + "\n",
    )
    assert res.exit_code == 0, res.output
    assert "587" in res.stdout
    rows = listed(run)
    assert len(rows) == 1
    row = rows[0]
    for key in (
        "id",
        "description",
        "host",
        "port",
        "security",
        "use_auth",
        "username",
        "max_connections",
        "enabled",
        "verify_tls",
    ):
        assert key in row
    assert (row["port"], row["security"], row["use_auth"], row["max_connections"]) == (587, "starttls", True, 3)
    assert SECRET not in json.dumps(rows)
    table = run("mta", "list")
    assert "Gmail" in table.stdout and "STARTTLS" in table.stdout and SECRET not in table.stdout


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--host", "smtp://x.example.com"], "Host Name"),
        (["--host", "x.example.com", "--port", "0"], "Host Port"),
        (["--host", "x.example.com", "--port", "abc"], "Host Port"),
        (["--host", "x.example.com", "--max-connections", "101"], "Max. Concurrent Connections"),
        (["--host", "x.example.com", "--ssl", "--starttls"], "exclude each other"),
    ],
)
def test_add_bad_input_exit_2_nothing_written(run, args: list[str], field: str) -> None:  # type: ignore[no-untyped-def]
    res = run("mta", "add", "--description", "R", *args)
    assert res.exit_code == 2
    assert field in res.stderr
    assert "Traceback" not in res.output
    assert listed(run) == []


def test_duplicate_description_exit_2(run) -> None:  # type: ignore[no-untyped-def]
    assert run("mta", "add", "--description", "Relay", "--host", "a.example.com").exit_code == 0
    res = run("mta", "add", "--description", "RELAY", "--host", "b.example.com")
    assert res.exit_code == 2 and "already used" in res.stderr
    assert [r["host"] for r in listed(run)] == ["a.example.com"]


def test_edit_enable_disable_remove(run) -> None:  # type: ignore[no-untyped-def]
    run("mta", "add", "--description", "Relay", "--host", "a.example.com")
    assert run("mta", "edit", "Relay", "--ssl").exit_code == 0
    assert listed(run)[0]["port"] == 465
    assert run("mta", "edit", "1", "--port", "2465").exit_code == 0
    assert run("mta", "edit", "Relay", "--no-ssl", "--starttls").exit_code == 0
    row = listed(run)[0]
    assert (row["security"], row["port"]) == ("starttls", 2465)  # a typed port is kept
    assert run("mta", "edit", "Relay", "--no-verify-tls", "--max-connections", "9").exit_code == 0
    row = listed(run)[0]
    assert (row["verify_tls"], row["max_connections"]) == (False, 9)
    assert run("mta", "disable", "Relay").exit_code == 0
    assert listed(run)[0]["enabled"] is False
    assert run("mta", "enable", "relay").exit_code == 0
    assert listed(run)[0]["enabled"] is True
    res = run("mta", "edit", "Relay", "--port", "99999")
    assert res.exit_code == 2 and listed(run)[0]["port"] == 2465
    assert run("mta", "remove", "Relay", "--yes").exit_code == 0
    assert listed(run) == []


def test_switching_off_the_other_mode_keeps_the_security(run) -> None:  # type: ignore[no-untyped-def]
    run("mta", "add", "--description", "Relay", "--host", "a.example.com", "--ssl")
    assert run("mta", "edit", "Relay", "--no-starttls").exit_code == 0
    row = listed(run)[0]
    assert (row["security"], row["port"]) == ("ssl", 465)
    assert run("mta", "edit", "Relay", "--starttls", "--no-ssl").exit_code == 0
    assert run("mta", "edit", "Relay", "--no-ssl").exit_code == 0
    row = listed(run)[0]
    assert (row["security"], row["port"]) == ("starttls", 587)
    assert run("mta", "edit", "Relay", "--no-starttls").exit_code == 0
    row = listed(run)[0]
    assert (row["security"], row["port"]) == ("none", 25)


def test_remove_without_yes_on_a_pipe_refuses(run) -> None:  # type: ignore[no-untyped-def]
    run("mta", "add", "--description", "Relay", "--host", "a.example.com")
    res = run("mta", "remove", "Relay")
    assert res.exit_code == 2 and "--yes" in res.stderr
    assert len(listed(run)) == 1


def test_auth_edit_keeps_and_replaces_password(run, db_url: str) -> None:  # type: ignore[no-untyped-def]
    run(
        "mta",
        "add",
        "--description",
        "R",
        "--host",
        "a.example.com",
        "--username",
        "u",
        "--password-stdin",
        input="first\n",
    )
    assert run("mta", "edit", "R", "--username", "u2").exit_code == 0
    eng = make_engine(db_url)
    assert mtas.config_for(mtas.get(eng, "R")).password == "first"
    assert run("mta", "edit", "R", "--password-stdin", input="second\n").exit_code == 0
    cfg = mtas.config_for(mtas.get(eng, "R"))
    assert (cfg.username, cfg.password) == ("u2", "second")
    assert run("mta", "edit", "R", "--no-auth").exit_code == 0
    assert listed(run)[0]["use_auth"] is False
    eng.dispose()


@pytest.mark.parametrize("stdin", ["", "\n"])
def test_password_stdin_that_reads_nothing_is_bad_input(run, db_url: str, stdin: str) -> None:  # type: ignore[no-untyped-def]
    """`echo "$UNSET" | ertui … --password-stdin`: exit 2, nothing changed — not a
    user without a password, nor an MTA "saved" with its old password."""
    run(
        "mta",
        "add",
        "--description",
        "R",
        "--host",
        "a.example.com",
        "--username",
        "u",
        "--password-stdin",
        input="first\n",
    )
    res = run("mta", "edit", "R", "--password-stdin", input=stdin)
    assert res.exit_code == 2 and "Password" in res.stderr
    eng = make_engine(db_url)
    assert mtas.config_for(mtas.get(eng, "R")).password == "first"
    eng.dispose()
    res = run("user", "add", "dave", "--password-stdin", input=stdin)
    assert res.exit_code == 2 and "Password" in res.stderr
    assert "dave" not in run("user", "list").stdout


def test_unknown_mta_is_one_sentence_exit_1(run) -> None:  # type: ignore[no-untyped-def]
    for args in (["mta", "edit", "nope", "--ssl"], ["mta", "enable", "7"], ["mta", "remove", "x", "--yes"]):
        res = run(*args)
        assert res.exit_code == 1
        assert "no MTA with the id or description" in res.stderr


def test_host_show_set(run) -> None:  # type: ignore[no-untyped-def]
    res = run("host", "set", "er.example.com")
    assert res.exit_code == 0
    data = json.loads(run("host", "show", "--json").stdout)
    assert data == {"host_name": "er.example.com", "is_default": False, "valid": True, "problem": None}
    bad = run("host", "set", "https://er.example.com/x")
    assert bad.exit_code == 2 and "Master Server Host Name" in bad.stderr
    assert json.loads(run("host", "show", "--json").stdout)["host_name"] == "er.example.com"


def test_admin_show_set(run) -> None:  # type: ignore[no-untyped-def]
    shown = run("admin", "show")
    assert "no email address" in shown.stdout
    assert run("admin", "set-email", "root@example.com").exit_code == 0
    assert json.loads(run("admin", "show", "--json").stdout) == {
        "username": "admin",
        "email": "root@example.com",
        "from_name": None,
        "reply_to": None,
    }
    bad = run("admin", "set-email", "not-an-address")
    assert bad.exit_code == 2 and "Administrator email address" in bad.stderr
    assert json.loads(run("admin", "show", "--json").stdout)["email"] == "root@example.com"


def _script(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "d"), XDG_CONFIG_HOME=str(tmp_path / "c"))
    return subprocess.run(
        [sys.executable, "-m", "ertui", *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def test_real_process_version_env_db_and_no_traceback(tmp_path: Path) -> None:
    assert _script(tmp_path, "--version").stdout.startswith("ertui, version")
    db = tmp_path / "via-env.db"
    res = _script(
        tmp_path,
        "--db",
        str(db),
        "mta",
        "add",
        "--description",
        "R",
        "--host",
        "a.example.com",
        "--username",
        "u",
        "--password-stdin",
        stdin=SECRET + "\n",
    )
    assert res.returncode == 0, res.stderr
    assert SECRET.encode() not in db.read_bytes()
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 1000)
    res = _script(tmp_path, "--db", str(bad), "mta", "list")
    assert res.returncode == 1
    assert "Traceback" not in res.stderr and "cannot be opened" in res.stderr


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_password_stdin_typed_at_a_terminal_is_not_echoed(tmp_path: Path) -> None:
    """`--password-stdin` with the operator typing at the terminal (no pipe): the
    password must not appear on the screen."""
    import select

    master, slave = os.openpty()
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "d"), XDG_CONFIG_HOME=str(tmp_path / "c"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ertui",
            "--db",
            str(tmp_path / "s.db"),
            "mta",
            "add",
            "--description",
            "R",
            "--host",
            "a.example.com",
            "--username",
            "u",
            "--password-stdin",
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    screen = b""
    typed = False
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 30 if typed else 10)
            if not ready:
                if typed:
                    raise AssertionError(f"no output; screen so far: {screen!r}")
                os.write(master, SECRET.encode() + b"\n")  # no prompt came: type anyway
                typed = True
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the process ended and closed the terminal
                break
            if not chunk:
                break
            screen += chunk
            if not typed and b"assword" in screen:
                os.write(master, SECRET.encode() + b"\n")
                typed = True
    finally:
        os.close(master)
        proc.wait(30)
    assert proc.returncode == 0, screen
    assert typed and SECRET.encode() not in screen
    eng = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    vault = Vault.load(tmp_path / "c" / "ertui" / "secret.key")  # the process's key
    assert mtas.config_for(mtas.get(eng, "R"), vault).password == SECRET
    eng.dispose()
