"""`ertui service unit`: the unit's keys, and `systemd-analyze verify` where it runs."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from ertui.cli import cli
from tests.service.conftest import ERTUI


def unit_text(*args: str) -> str:
    res = CliRunner().invoke(cli, [*args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.stdout


def keys(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return {s: dict(parser[s]) for s in parser.sections()}


def test_system_unit_keys(tmp_path: Path) -> None:
    store = tmp_path / "var lib" / "ertui.db"
    k = keys(unit_text("--db", str(store), "service", "unit"))
    svc = k["Service"]
    assert svc["Type"] == "notify"
    exec_start = svc["ExecStart"]
    assert Path(exec_start.split()[0]).is_absolute() and exec_start.endswith(" worker")
    assert Path(exec_start.split()[0]).name in ("ertui", "python", "python3") or "ertui" in exec_start
    assert f'--db "sqlite:///{store}"' in exec_start  # quoted: the folder has a space
    assert svc["Restart"] == "on-failure"
    assert svc["KillMode"] == "mixed"  # the worker passes SIGTERM on to its --processes children itself
    assert int(svc["WatchdogSec"].rstrip("s")) > 0
    assert svc["NoNewPrivileges"] == "yes" and svc["ProtectSystem"] == "strict" and svc["PrivateTmp"] == "yes"
    assert svc["ReadWritePaths"] == f'"{store.parent}"'
    assert k["Install"]["WantedBy"] == "multi-user.target"


def test_user_unit_and_a_store_url_with_a_password(monkeypatch: pytest.MonkeyPatch) -> None:
    k = keys(unit_text("service", "unit", "--user", "--db", "postgresql://ertui:s3cret-pw@db.example/ertui"))
    assert k["Install"]["WantedBy"] == "default.target"
    text = unit_text("service", "unit", "--db", "postgresql://ertui:s3cret-pw@db.example/ertui")
    assert "s3cret-pw" not in text  # every user can read a unit
    svc = keys(text)["Service"]
    assert svc["EnvironmentFile"] == "/etc/ertui/worker.env" and "--db" not in svc["ExecStart"]
    assert "ReadWritePaths" not in svc  # no store folder on a database server


def test_the_secret_key_is_never_put_in_the_unit(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("ERTUI_SECRET_KEY", "a-secret-key-value")
    text = unit_text("--db", db_url, "service", "unit")
    assert "a-secret-key-value" not in text and "ERTUI_SECRET_KEY" not in text
    assert "Environment=XDG_CONFIG_HOME=" in text  # where the key file is found


def test_installed_script_prints_its_own_path(db_url: str) -> None:
    out = subprocess.run([ERTUI, "--db", db_url, "service", "unit"], capture_output=True, timeout=60, check=True)
    assert keys(out.stdout.decode())["Service"]["ExecStart"].startswith(str(Path(ERTUI).resolve()) + " ")


def test_systemd_analyze_verify(tmp_path: Path, db_url: str) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (.ci/run installs systemd); the unit's keys are tested above")
    probe = subprocess.run([tool, "--version"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"systemd-analyze cannot run here: {probe.stderr.decode(errors='replace').strip()}")
    out = subprocess.run([ERTUI, "--db", db_url, "service", "unit"], capture_output=True, timeout=60, check=True)
    unit = tmp_path / "ertui-worker.service"
    unit.write_bytes(out.stdout)
    res = subprocess.run([tool, "verify", str(unit)], capture_output=True, timeout=60)
    err = res.stderr.decode(errors="replace")
    assert res.returncode == 0, err
    assert "ertui-worker.service" not in err, err  # no warning about our unit


def test_odd_store_paths_are_quoted_for_systemd(tmp_path: Path) -> None:
    store = tmp_path / "50% $HOME" / "ertui.db"
    svc = keys(unit_text("--db", str(store), "service", "unit"))["Service"]
    folder = str(store.parent)
    assert f'"sqlite:///{folder.replace("%", "%%").replace("$", "$$")}/ertui.db"' in svc["ExecStart"]
    assert svc["ReadWritePaths"] == '"' + folder.replace("%", "%%") + '"'  # no $ expansion there


def test_a_junk_or_control_character_store_is_one_sentence_exit_2(tmp_path: Path) -> None:
    for db, words in (("::not a url::/x://", "--db must be"), (str(tmp_path / "a\nb.db"), "control characters")):
        res = CliRunner().invoke(cli, ["service", "unit", "--db", db])
        assert res.exit_code == 2 and words in res.stderr and "Traceback" not in res.output, res.output
        assert res.stdout == ""


def test_the_system_unit_runs_as_the_owner_of_the_store(tmp_path: Path) -> None:
    import os
    import pwd

    folder = tmp_path / "owned"
    folder.mkdir()
    nobody = pwd.getpwnam("nobody")
    if os.getuid() == 0:
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        svc = keys(unit_text("--db", str(folder / "ertui.db"), "service", "unit"))["Service"]
        assert svc["User"] == "nobody"
    root_owned = keys(unit_text("--db", "/ertui.db", "service", "unit"))["Service"]
    assert "User" not in root_owned  # a store in a folder of root's: the unit runs as root
    assert "User" not in keys(unit_text("--db", str(folder / "x.db"), "service", "unit", "--user"))["Service"]
