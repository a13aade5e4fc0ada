"""The worker against a server that offers PIPELINING: each content goes out
with the next message's MAIL, RCPT and DATA, and every reply still lands on
its own message."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.engine import Engine

from ertui import queue
from tests.delivery.conftest import add_mta, run_worker
from tests.smtpd import SmtpServer


def test_a_pipelined_drain_delivers_each_message_once_and_judges_each_on_its_own(store: Engine) -> None:
    with SmtpServer("plain", pipelining=True) as srv:
        srv.behaviour.data_delay = 0.001
        srv.behaviour.rcpt_replies = {
            "user7@example.com": "550 5.1.1 no such user",
            "user8@example.com": "550 5.1.1 no such user",  # two in a row
            "user30@example.com": "550 5.1.1 no such user",
        }
        add_mta(store, "relay", srv.port, max_connections=2)
        ids = queue.enqueue_batch(store, [(f"user{i}@example.com", f"Message {i}", f"Body {i}") for i in range(60)])
        run_worker(store)
        got = Counter(r.rcpt_tos[0] for r in srv.received)
        assert srv.connections_total <= 4
    refused = {"user7@example.com", "user8@example.com", "user30@example.com"}
    assert set(got) == {f"user{i}@example.com" for i in range(60)} - refused
    assert max(got.values()) == 1, "each message once"
    for mid in ids:
        m = queue.get_message(store, mid)
        if m.recipient in refused:
            assert (m.status, m.attempts) == ("failed", 1), m
            assert m.last_error is not None and "no such user" in m.last_error
        else:
            assert (m.status, m.attempts) == ("sent", 1), m
            # the bytes the server took for this recipient are this message's own
            [data] = [r.data for r in srv.received if r.rcpt_tos == [m.recipient]]
            assert f"Message-ID: {m.message_id}".encode() in data
