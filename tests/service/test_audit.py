"""Every kind of settings change from the command line, audited once with its
user, SSH address and front end; never a secret; `ertui audit`."""

from __future__ import annotations

import getpass
import json
from collections import Counter
from datetime import timedelta

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update
from sqlalchemy.engine import Engine

from ertui import actor, audit, mtas, queue
from ertui.cli import cli
from ertui.store.models import AuditEntry, Message
from ertui.timeutil import utcnow

T = Message.__table__  # type: ignore[attr-defined]
SECRETS = ("pw-One-ΩΩ-secret", "pw-Two-secret")


@pytest.fixture
def run(db_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SSH_CLIENT", "192.0.2.7 51234 22")
    runner = CliRunner()

    def _run(*args: str, input: str | None = None) -> Result:
        res = runner.invoke(cli, ["--db", db_url, *args], input=input, catch_exceptions=False)
        assert res.exit_code == 0, res.output
        return res

    return _run


def new_entries(engine: Engine, before: set[int | None]) -> list[AuditEntry]:
    return [e for e in audit.entries(engine) if e.id not in before]


def test_each_kind_of_change_from_the_cli_once(run, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    run("host", "set", "mail.example.com")
    run("admin", "set-email", "admin@example.com")
    ids = queue.enqueue_batch(engine, [(f"u{i}@example.com", "s", "b") for i in range(4)])
    before = {e.id for e in audit.entries(engine)}
    run("host", "set", "mail2.example.com")
    run("admin", "set-email", "ops@example.com")
    run("mta", "add", "--description", "Relay", "--host", "smtp.example.com", "--username", "bob",
        "--password-stdin", input=SECRETS[0] + "\n")  # fmt: skip
    run("mta", "edit", "Relay", "--host", "smtp2.example.com", "--password-stdin", input=SECRETS[1] + "\n")
    run("mta", "edit", "Relay", "--host", "smtp2.example.com")  # nothing changed: nothing recorded
    run("mta", "disable", "Relay")
    run("mta", "enable", "Relay")
    run("mta", "edit", "Relay", "--no-auth")
    run("queue", "hold", str(ids[0]), str(ids[1]))
    run("queue", "release", str(ids[0]), str(ids[1]))
    with engine.begin() as conn:
        conn.execute(update(T).where(T.c.id == ids[2]).values(status="failed"))
    run("queue", "retry", "--all-failed")
    run("queue", "retry", str(ids[3]))
    run("queue", "delete", str(ids[3]), "--yes")
    with engine.begin() as conn:
        conn.execute(update(T).where(T.c.id == ids[2]).values(status="sent", sent_at=utcnow() - timedelta(days=9)))
    run("queue", "purge", "--sent-older-than", "7")
    run("retention", "set", "--keep-failed", "60d")
    run("mta", "remove", "Relay", "--yes")
    new = new_entries(engine, before)
    assert Counter(e.action for e in new) == Counter(
        {
            "host.set": 1,
            "admin.set": 1,
            "mta.add": 1,
            "mta.edit": 2,
            "mta.disable": 1,
            "mta.enable": 1,
            "queue.hold": 1,
            "queue.release": 1,
            "queue.retry_all_failed": 1,
            "queue.retry": 1,
            "queue.delete": 1,
            "queue.purge": 1,
            "retention.set": 1,
            "mta.remove": 1,
        }
    )
    assert {(e.front_end, e.os_user, e.ssh_client) for e in new} == {("cli", getpass.getuser(), "192.0.2.7")}
    details = {e.action: e.detail for e in new}
    assert details["queue.hold"] == f"2 message(s) (ids {ids[0]}, {ids[1]})"
    assert details["queue.purge"] == "1 message(s)"
    assert details["mta.add"] == "MTA 'Relay' added: smtp.example.com:25, security none, auth as 'bob'"
    assert details["host.set"] == "master host name set to 'mail2.example.com'"
    edits = [e.detail for e in new if e.action == "mta.edit"]
    assert edits[1] == "MTA 'Relay': host: 'smtp.example.com' → 'smtp2.example.com'; password changed"  # older
    assert "use_auth: True → False" in edits[0] and "password removed" in edits[0]
    everything = run("audit", "--json").stdout + run("audit").stdout
    for secret in SECRETS:
        assert secret not in everything
        for e in audit.entries(engine):
            assert secret not in e.detail
    assert mtas.list_mtas(engine) == []


def test_audit_since_and_json_keep_exact_text(run, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    audit.record(engine, "host.set", "evil \x1b]8;;http://x\x07link\x1b[2J")
    with engine.begin() as conn:  # one entry from two days ago
        A = AuditEntry.__table__  # type: ignore[attr-defined]
        conn.execute(A.insert().values(at=utcnow() - timedelta(days=2), action="old", detail="d", os_user="u",
                                       front_end="cli"))  # fmt: skip
    rows = json.loads(run("audit", "--json").stdout)
    assert rows[0]["detail"] == "evil \x1b]8;;http://x\x07link\x1b[2J"
    assert {"at", "action", "detail", "user", "ssh_client", "front_end"} <= set(rows[0])
    text = run("audit").stdout
    assert "\x1b" not in text and "\x07" not in text and "old" in text
    recent = run("audit", "--since", "1d").stdout
    assert "evil" in recent and "  old  " not in recent


def test_audit_bad_since_is_exit_2(db_url: str) -> None:
    res = CliRunner().invoke(cli, ["--db", db_url, "audit", "--since", "lately"])
    assert res.exit_code == 2 and "--since must be an age" in res.stderr


def test_there_is_no_command_that_deletes_the_audit_log(db_url: str) -> None:
    res = CliRunner().invoke(cli, ["--db", db_url, "audit", "--help"])
    assert res.exit_code == 0 and "delete" not in res.stdout.lower() and "purge" not in res.stdout.lower()


def test_user_changes_and_the_admin_address_through_user_commands(run, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    import re

    from ertui import recovery
    from ertui.store.sealed import open_raw

    run("host", "set", "mail.example.com")
    run("admin", "set-email", "admin@example.com")
    before = {e.id for e in audit.entries(engine)}
    run("user", "add", "carol", "--email", "carol@example.com", "--password-stdin", input=SECRETS[0] + "\n")
    run("user", "set-email", "admin", "boss@example.com")  # the sender of every email: same as admin set-email
    actor.set_front_end("api")  # (one front end per process; here the API after the CLI in one test process)
    req = recovery.request_recovery(engine, "carol")
    sealed_raw = bytes(queue.get_message(engine, req.message_id).raw)  # the body keeps only a masked token
    token = re.search(r"token=([A-Za-z0-9_\-]+)", open_raw(sealed_raw).decode())
    assert token is not None
    recovery.reset_password(engine, "carol", token.group(1), SECRETS[1])
    run("user", "remove", "carol", "--yes")
    new = new_entries(engine, before)
    assert sorted(e.action for e in new) == ["admin.set", "user.add", "user.password", "user.remove"]
    assert next(e for e in new if e.action == "admin.set").detail == "administrator address set to 'boss@example.com'"
    assert {e.front_end for e in new if e.action == "user.password"} == {"api"}
    for e in new:
        assert not any(s in e.detail for s in SECRETS) and token.group(1) not in e.detail
