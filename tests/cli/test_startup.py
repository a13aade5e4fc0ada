"""Start-up: `ertui --help` and `--version` load neither SQLAlchemy nor Textual,
and a read-only command on an up-to-date store loads no Alembic, Textual or SMTP
stack, nor email-validator or cryptography (asserted on `python -X importtime`'s list of modules, not on time)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from ertui.cli import LAZY_COMMANDS, LAZY_HELP, cli

HEAVY = {"sqlalchemy", "sqlmodel", "alembic", "textual", "aiosmtplib", "prometheus_client", "aiohttp"}


def imported(*args: str, env: dict[str, str] | None = None) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ertui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    )
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "ertui" in names, proc.stderr[-500:]
    return names


def test_help_and_version_load_nothing_heavy() -> None:
    assert not imported("--help") & HEAVY
    assert not imported("--version") & HEAVY


def test_a_read_only_command_on_a_current_store_loads_no_alembic_textual_or_smtp(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    subprocess.run([sys.executable, "-m", "ertui", "--db", str(db), "mta", "list"], check=True, capture_output=True)
    loaded = imported("--db", str(db), "mta", "list")
    assert "sqlalchemy" in loaded  # it did read the store
    assert not loaded & {"alembic", "textual", "aiosmtplib"}
    # nor the address checker or the cipher: no address is checked, no password read
    assert not loaded & {"email_validator", "cryptography"}


def test_every_command_has_its_line_of_help_and_help_lists_them_all() -> None:
    assert set(LAZY_COMMANDS) == set(LAZY_HELP)
    out = CliRunner().invoke(cli, ["--help"]).output
    for name, text in LAZY_HELP.items():
        assert name in out and text.split()[0] in out
