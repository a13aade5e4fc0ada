"""The worker against an MTA whose replies are out of step with its commands
(``ertui.smtp.pipeline``): a refusal read as the reply to another command
marked sent messages the server had refused — lost. Now such an MTA fails
(a protocol failure, cooled down) and its messages go to another MTA: each
sent exactly once, none marked sent by the hostile one."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from ertui import queue
from ertui.store.models import Attempt, Message
from tests.delivery.conftest import add_mta, fast_settings, run_worker
from tests.smtp.out_of_step import TRICKS, Hostile
from tests.smtpd import RawServer, SmtpServer

M = Message.__table__  # type: ignore[attr-defined]
A = Attempt.__table__  # type: ignore[attr-defined]


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one by one"])
def test_a_refusal_out_of_step_never_marks_a_message_sent(store: Engine, pipelining: bool) -> None:
    hostile = Hostile(TRICKS["surplus after 354"], pipelining=pipelining, always=True)
    with RawServer(hostile) as bad, SmtpServer("plain") as good:
        good.behaviour.data_delay = 0.3  # so the hostile MTA gets messages too
        bad_mta = add_mta(store, "hostile", bad.port, max_connections=1, timeout=3)
        add_mta(store, "good", good.port, max_connections=1)
        queue.enqueue_batch(store, [(f"u{i}@example.com", "s", "b") for i in range(4)])
        run_worker(store, fast_settings(idle_close_seconds=0.2))
    assert hostile.datas >= 1, "the hostile MTA was never tried"
    assert hostile.accepted == []
    with store.connect() as conn:
        assert Counter(r[0] for r in conn.execute(select(M.c.status))) == Counter({"sent": 4})
        sent_by = [r[0] for r in conn.execute(select(A.c.mta_id).where(A.c.outcome == "sent"))]
    assert bad_mta.id not in sent_by
    assert sorted(r.rcpt_tos[0] for r in good.received) == [f"u{i}@example.com" for i in range(4)]
