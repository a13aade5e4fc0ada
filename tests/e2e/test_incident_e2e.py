"""The installed `ertui` in a real terminal during an incident (issue 12): a relay
defers mail for two domains; `Q` shows the queue's shape, Enter on a domain
opens the Mail Queue filtered to it, `H` holds all of it after a confirmation,
`l` shows the delivery log. The store has exactly that domain's mail held."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ertui import mtas, queue
from ertui.delivery.worker import Worker
from tests.delivery.conftest import fast_settings
from tests.e2e.conftest import Terminal, console_store, installed_ertui, start_ertui
from tests.smtpd import SmtpServer

pytestmark = pytest.mark.e2e

STUCK = ["a@stuck.example", "b@stuck.example", "c@stuck.example"]
SLOW = ["d@slow.example", "e@slow.example"]


def test_shape_enter_hold_all_then_the_log(
    terminal: Terminal, smtp_server: SmtpServer, tmp_path: Path, isolated_dirs: Path
) -> None:
    installed_ertui()  # (skips before the delivery round when not installed)
    db = tmp_path / "incident.db"
    engine = console_store(db)
    mtas.add(engine, description="Relay", host="127.0.0.1", port=smtp_server.port)
    for rcpt in STUCK + SLOW:
        smtp_server.behaviour.rcpt_replies[rcpt] = "451 4.2.0 Mailbox busy"
    stuck = queue.enqueue(engine, STUCK, "Invoice", "Body")
    slow = queue.enqueue(engine, SLOW, "Invoice", "Body")
    (fine,) = queue.enqueue(engine, ["f@fine.example"], "Invoice", "Body")
    # one real delivery round: five deferrals (due again in 10 min) and one sent
    worker = Worker(engine, fast_settings(backoff_base=600.0, backoff_max=600.0))
    asyncio.run(asyncio.wait_for(worker.run(once=True), 30))
    assert {queue.get_message(engine, i).status for i in stuck + slow} == {"deferred"}
    mtas.set_enabled(engine, "Relay", False)  # the console's own worker sends nothing more

    start_ertui(terminal, db)

    terminal.keys("Q")  # the queue's shape: where mail waits
    terminal.wait_for(r"Queue shape")
    terminal.wait_for(r"Unsent mail by domain")
    terminal.wait_for(r"TOTAL\s+5\b")
    shape = terminal.wait_for(r"stuck\.example\s+3\b[\s\S]*slow\.example\s+2\b")
    assert "fine.example" not in shape.string  # sent: not waiting

    terminal.keys("Down", "Enter")  # the first domain: stuck.example
    terminal.wait_for(r"Filter: domain=stuck\.example")
    terminal.wait_for(r"Unsent · 3 messages")
    listed = terminal.screen()
    assert all(rcpt in listed for rcpt in STUCK) and "slow.example" not in listed, listed

    terminal.keys("H")  # hold every message the filter matches
    terminal.wait_for(r"Hold 3 message\(s\) matching status unsent, domain[\s│]+stuck\.example\?")
    terminal.keys("y")
    terminal.wait_for(r"3 message\(s\) held\.")
    held = terminal.wait_for(r"(\S+@stuck\.example\s+Invoice\s+held\b[\s\S]*){3}")  # unsent includes held
    assert "deferred" not in held.string.split("Filter:")[1], held.string
    assert [queue.get_message(engine, i).status for i in stuck] == ["held"] * 3
    assert [queue.get_message(engine, i).status for i in slow] == ["deferred"] * 2
    assert queue.get_message(engine, fine).status == "sent"

    terminal.keys("l")  # the delivery log: the round's attempts, every worker's
    terminal.wait_for(r"Delivery log")
    log = terminal.wait_for(r"f@fine\.example\s+sent 250")
    for rcpt in STUCK + SLOW:
        assert f"{rcpt}  deferred 451 4.2.0 Mailbox busy" in terminal.screen(), log.string
    assert "Traceback" not in terminal.screen()

    terminal.keys("Escape")  # back to the Mail Queue, filter kept; Esc clears it
    terminal.wait_for(r"Filter: domain=stuck\.example")
    terminal.keys("Escape")
    terminal.wait_for(r"Unsent · 5 messages")  # held, deferred: all still unsent
    terminal.keys("Escape")  # the Mail Queue, back to the shape
    terminal.wait_for(r"Queue shape")
    terminal.keys("Escape")
    terminal.wait_for(r"List of Message Transfer Agents")
    terminal.keys("q")  # the worker stops gracefully, then the process exits
    assert terminal.exit_status() == 0, terminal.screen()
    assert "Traceback" not in terminal.screen()
