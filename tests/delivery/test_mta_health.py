"""What the worker learns of an MTA: one that answers 4xx to every message is
cooled down (issue 10, item 3), and every contact is recorded with its result
(issue 11, item 20: "never used" only when it never was)."""

from __future__ import annotations

import json
import subprocess

from sqlalchemy.engine import Engine

from ertui import mtas, queue
from ertui.delivery import policy
from tests.delivery.conftest import ERTUI, add_mta, fast_settings, run_worker
from tests.smtpd import SmtpServer


def test_an_mta_that_defers_every_message_is_cooled_down_and_the_others_take_them(
    store: Engine, smtp_server: SmtpServer, second_server: SmtpServer
) -> None:
    """Two MTAs, one answering 451 to every RCPT, 20 messages, a backoff of an
    hour: the healthy MTA delivers them all in one run (no message waits for
    its backoff), the unwell one is cooled down with the reason."""
    bad = add_mta(store, "bad", smtp_server.port, max_connections=4)
    good = add_mta(store, "good", second_server.port, max_connections=1)
    smtp_server.behaviour.rcpt_reply = "451 4.3.0 try again later"
    ids = queue.enqueue_batch(store, [(f"u{i}@example.com", "s", "b") for i in range(20)])
    run_worker(store, fast_settings(backoff_base=3600, backoff_max=3600, cooldown_base=600))
    assert {queue.get_message(store, i).status for i in ids} == {"sent"}
    assert len(second_server.received) == 20
    assert bad.id is not None and good.id is not None
    row = mtas.get(store, bad.id)
    assert row.cooldown_until is not None and row.last_error is not None and "451" in row.last_error
    assert mtas.get(store, good.id).cooldown_until is None


def test_one_recipient_refused_again_and_again_does_not_cool_the_mta(store: Engine, smtp_server: SmtpServer) -> None:
    relay = add_mta(store, "relay", smtp_server.port)
    smtp_server.behaviour.rcpt_replies["full@example.com"] = "452 4.2.2 mailbox full"
    queue.enqueue_batch(store, [("full@example.com", "s", "b")] * 6 + [("ok@example.com", "s", "b")])
    run_worker(store, fast_settings(backoff_base=3600, backoff_max=3600))
    assert relay.id is not None
    assert mtas.get(store, relay.id).cooldown_until is None
    assert len(smtp_server.received) == 1


def test_unwell_is_several_recipients_refused_not_one() -> None:
    five = [(f"u{i}@x", True) for i in range(5)]
    assert policy.mta_unwell(five)
    assert not policy.mta_unwell([("same@x", True)] * 5)
    assert not policy.mta_unwell(five[:4])
    assert not policy.mta_unwell([*five[:4], ("ok@x", False)])
    # Most of the last 20, with an acceptance now and then.
    mixed = [(f"u{i}@x", i % 4 != 0) for i in range(20)]
    assert policy.mta_unwell(mixed)
    assert not policy.mta_unwell([(f"u{i}@x", i % 2 == 0) for i in range(20)])  # half: not most


def test_an_mta_that_answered_with_a_5xx_shows_its_last_contact(
    store: Engine, db_url: str, smtp_server: SmtpServer
) -> None:
    """Connected, authenticated (or not), got a 5xx for the message: health
    says when and what, in the store and in `mta list --json`."""
    relay = add_mta(store, "relay", smtp_server.port)
    smtp_server.behaviour.rcpt_reply = "550 5.1.1 no such user"
    queue.enqueue(store, "nobody@example.com", "s", "b")
    run_worker(store)
    assert relay.id is not None
    row = mtas.get(store, relay.id)
    assert row.last_success_at is None and row.last_error is None  # not the MTA's failure
    assert row.last_contact_at is not None
    assert row.last_contact_result is not None and "550 5.1.1 no such user" in row.last_contact_result
    out = subprocess.run([ERTUI, "--db", db_url, "mta", "list", "--json"], capture_output=True, check=True)
    [shown] = json.loads(out.stdout)
    assert shown["last_contact_at"] is not None and "550" in shown["last_contact_result"]


def test_a_delivery_and_a_failure_each_become_the_last_contact(store: Engine, smtp_server: SmtpServer) -> None:
    relay = add_mta(store, "relay", smtp_server.port)
    queue.enqueue(store, "a@example.com", "s", "b")
    run_worker(store)
    assert relay.id is not None
    row = mtas.get(store, relay.id)
    assert row.last_contact_result is not None and row.last_contact_result.startswith("2.0.0 Ok")
    assert row.last_contact_at == row.last_success_at
    mtas.record_failure(store, relay.id, "timeout: no answer")
    row = mtas.get(store, relay.id)
    assert row.last_contact_result == "timeout: no answer" and row.last_contact_at == row.last_error_at
