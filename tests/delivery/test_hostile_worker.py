"""A real `ertui worker` process against hostile servers (issue 10, items 5
and 6): escape sequences in a reply reach no terminal (the worker's log, the
CLI's text output) but stay exact in ``--json``; a password the server echoes
reaches neither the log, nor the store file, nor any output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from ertui import queue
from ertui.cli import cli
from tests.delivery.conftest import add_mta, finish, rename_raw, start_worker
from tests.smtp.hostile import ECHO_535, ESCAPES_550, PASSWORD, SECRET_FORMS, USER, hostile_server

CONTROLS = ("\x1b", "\x07", "\x9b")
HOSTILE_TEXT = ESCAPES_550[4:].rstrip("\r\n")  # what the server said after the code


def cli_out(db_url: str, *args: str) -> str:
    res = CliRunner().invoke(cli, ["--db", db_url, *args])
    assert res.exit_code == 0, res.output
    return res.output


def run_worker_once(db_url: str, log: Path) -> str:
    code, err = finish(start_worker(db_url, "--once", log=log))
    assert code == 0, err
    return log.read_text(encoding="utf-8", errors="replace") + err


def store_bytes(db_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*") if p.is_file())


def test_a_hostile_reply_reaches_no_terminal_but_stays_exact_in_json(
    store: Engine, db_url: str, tmp_path: Path
) -> None:
    with hostile_server({"RCPT": ESCAPES_550}) as srv:
        add_mta(store, "hostile", srv.port)
        [mid] = queue.enqueue(store, "victim@example.com", "hello", "body")
        log = run_worker_once(db_url, tmp_path / "worker.log")
    assert queue.get_message(store, mid).status == "failed"
    assert not any(c in log for c in CONTROLS)
    assert "\\x1b]0;PWNED\\x07" in log  # shown, as a visible escape
    for args in (["queue", "show", str(mid)], ["queue", "list", "--status", "all"]):
        out = cli_out(db_url, *args)
        assert not any(c in out for c in CONTROLS), args
        assert "\\x1b" in out, args
    shown = json.loads(cli_out(db_url, "queue", "show", str(mid), "--json"))
    assert HOSTILE_TEXT in shown["last_error"]
    assert HOSTILE_TEXT in shown["attempt_log"][0]["text"]
    listed = json.loads(cli_out(db_url, "queue", "list", "--status", "all", "--json"))
    assert HOSTILE_TEXT in listed[0]["last_error"]


def test_a_hostile_greeting_reaches_no_terminal_through_stats(store: Engine, db_url: str, tmp_path: Path) -> None:
    """An MTA failure: the reply is the MTA's last error, quoted by `queue stats`."""
    with hostile_server({"GREETING": ESCAPES_550.replace("550 5.1.1", "554 5.3.2")}) as srv:
        rename_raw(store, add_mta(store, "hostile", srv.port), "hostile \x1b[31mred")
        queue.enqueue(store, "victim@example.com", "hello", "body")
        log = run_worker_once(db_url, tmp_path / "worker.log")
    assert not any(c in log for c in CONTROLS)
    for args in (["queue", "stats"], ["mta", "list"], ["queue", "show", "1"]):
        out = cli_out(db_url, *args)
        assert not any(c in out for c in CONTROLS), (args, out)
    assert "Stalled:" in cli_out(db_url, "queue", "stats")
    [mta] = json.loads(cli_out(db_url, "mta", "list", "--json"))
    assert "\x1b]0;PWNED\x07" in mta["last_error"] and mta["description"] == "hostile \x1b[31mred"


@pytest.mark.parametrize("stage", ["AUTH", "MAIL", "DATA"])
def test_an_echoed_password_is_nowhere(store: Engine, db_url: str, db_path: Path, tmp_path: Path, stage: str) -> None:
    reply = ECHO_535 if stage == "AUTH" else ECHO_535.replace("535 5.7.8", "554 5.7.1")
    with hostile_server({stage: reply}) as srv:
        add_mta(store, "echo", srv.port, username=USER, password=PASSWORD)
        [mid] = queue.enqueue(store, "someone@example.com", "hello", "body")
        log = run_worker_once(db_url, tmp_path / "worker.log")
    outputs = {
        "worker log": log,
        "mta list --json": cli_out(db_url, "mta", "list", "--json"),
        "queue show --json": cli_out(db_url, "queue", "show", str(mid), "--json"),
        "queue show": cli_out(db_url, "queue", "show", str(mid)),
        "queue stats": cli_out(db_url, "queue", "stats"),
    }
    assert "<redacted>" in outputs["mta list --json"] + outputs["queue show --json"]
    store.dispose()
    outputs["store file"] = store_bytes(db_path).decode("latin-1")
    found = {where: form for where, text in outputs.items() for form in SECRET_FORMS if form in text}
    assert found == {}
