"""One deadline per step (issue 10, item 2): the MTA's timeout bounds the whole
of connect + greeting (and the diagnosis of a silent port), not a fresh timeout
for each part; cancelling an attempt (a worker that stops) ends it at once; the
worker's guard stops a message before MAIL or before DATA."""

from __future__ import annotations

import asyncio

from ertui.smtp.outcome import ErrorKind, MtaConfig
from ertui.smtp.session import SmtpSession
from tests.smtp.test_session import HELO, MSG, cfg, silent_server
from tests.smtpd import SmtpServer


async def timed_send(config: MtaConfig) -> tuple[float, ErrorKind | None]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    session = SmtpSession(config, HELO)
    try:
        outcome = await session.send("a@example.com", "b@example.com", MSG)
    finally:
        await session.close()
    assert not outcome.ok
    return loop.time() - start, outcome.kind


async def test_a_silent_port_costs_the_timeout_not_a_multiple_of_it() -> None:
    """`mta test --timeout 5` against a port that accepts and never greets took
    11 s: the greeting wait, then a TLS probe and a second diagnosis, each with
    a timeout of its own. (Generous bound: 1.5 x the timeout.)"""
    server, script = silent_server()
    with server as srv:
        seconds, kind = await timed_send(cfg(srv.port, timeout=3.5))
        await script.settle()
    assert kind == ErrorKind.TIMEOUT
    assert seconds < 3.5 * 1.5


async def test_cancelling_a_connection_attempt_ends_it_at_once() -> None:
    server, script = silent_server()
    with server as srv:
        session = SmtpSession(cfg(srv.port, timeout=30.0), HELO)
        task = asyncio.ensure_future(session.open())
        for _ in range(250):
            if srv.connections_total:
                break
            await asyncio.sleep(0.02)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5.0)
        assert done and task.cancelled()
        await script.settle()
        assert script._idle.is_set()  # the server saw the connection end


async def test_a_guard_that_says_no_before_data_sends_nothing(smtp_server: SmtpServer) -> None:
    answers = iter([True, False])  # yes before MAIL, no before DATA
    session = SmtpSession(cfg(smtp_server.port), HELO)
    try:
        outcome = await session.send("a@example.com", "b@example.com", MSG, guard=lambda: next(answers))
        refused = await session.send("a@example.com", "b@example.com", MSG, guard=lambda: False)
        sent = await session.send("a@example.com", "b@example.com", MSG, guard=lambda: True)
    finally:
        await session.close()
    assert not outcome.ok and outcome.kind == ErrorKind.DISCONNECTED
    assert not refused.ok and refused.kind == ErrorKind.DISCONNECTED
    assert sent.ok
    assert len(smtp_server.received) == 1  # only the one the guard let through
