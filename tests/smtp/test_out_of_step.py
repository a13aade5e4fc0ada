"""Servers whose replies do not pair with the commands (``ertui.smtp.pipeline``):
more replies than commands, replies out of order, a reply no command in its
place can have. A reply paired with the wrong command attaches a refusal to
the wrong command or message, or marks sent a message the server refused;
both ways of sending (pipelined and one command at a time) must see it, send
no content after it, and close the connection.

The server is a raw TCP server that misbehaves on its first connection only
(``Hostile.tricks``), so a test also sees the session recover on a new one."""

from __future__ import annotations

import pytest

from ertui.smtp.outcome import ErrorKind, MtaConfig, Outcome
from ertui.smtp.session import SmtpSession
from tests.smtp.out_of_step import TRICKS, TWICE, Hostile
from tests.smtpd import RawServer

SENDER = "a@example.com"
MSG = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\n\r\nbody\r\n"


def cfg(port: int, pipelining: bool = True) -> MtaConfig:
    return MtaConfig(host="127.0.0.1", port=port, timeout=3.0, pipelining=pipelining)


@pytest.fixture(params=[True, False], ids=["pipelined", "one by one"])
def pipelining(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def out_of_step(o: Outcome) -> bool:
    return not o.ok and o.kind == ErrorKind.PROTOCOL and o.mta_failure and "out of step" in o.message


@pytest.mark.parametrize("trick", list(TRICKS))
async def test_no_reply_is_paired_with_the_wrong_command(trick: str, pipelining: bool) -> None:
    """Never sent, never a refusal of the message itself (it was the server's
    fault: the message goes to another MTA), and the next message goes on a
    new connection with its own replies."""
    server = Hostile(TRICKS[trick], pipelining=pipelining)
    with RawServer(server) as srv:
        session = SmtpSession(cfg(srv.port, pipelining), "me.example")
        try:
            first = await session.send(SENDER, "b@example.com", MSG)
            assert out_of_step(first), first
            assert not session.is_open
            second = await session.send(SENDER, "c@example.com", MSG)
            assert second.ok and second.message == "2.0.0 queued", second
        finally:
            await session.close()
    assert server.connections == 2
    assert len(server.contents) == 1, "found before the content: it was never written"


@pytest.mark.parametrize("then", [False, True], ids=["alone", "with the next group"])
async def test_a_content_answered_twice_is_sent_once(pipelining: bool, then: bool) -> None:
    """A reply too many after the content's own: the content's reply stands
    (sent, never sent again), the connection closes, and the next message's
    group written with the content is not trusted: sent on a new connection."""
    server = Hostile(TWICE, pipelining=pipelining)
    with RawServer(server) as srv:
        session = SmtpSession(cfg(srv.port, pipelining), "me.example")
        nxt = (SENDER, "c@example.com", MSG, None) if then else None
        try:
            first = await session.send(SENDER, "b@example.com", MSG, then=nxt)
            assert first.ok and first.message == "2.0.0 queued", first
            second = await session.send(SENDER, "c@example.com", MSG)
            if not second.ok:  # (its group went out on the first connection: the worker retries it)
                assert then and pipelining and out_of_step(second), second
                second = await session.send(SENDER, "c@example.com", MSG)
            assert second.ok, second
        finally:
            await session.close()
    assert len(server.accepted) == 2, "each message once"
    assert server.connections >= 2


async def test_a_content_answered_after_the_next_group_is_not_marked_sent() -> None:
    """Pipelined with the next message's group behind the content (the
    worker's ``then``): a server that answers that group first and refuses the
    content last must not have its group's 250 read as the content's reply."""
    server = Hostile({}, pipelining=True, reorder=True)
    with RawServer(server) as srv:
        session = SmtpSession(cfg(srv.port), "me.example")
        try:
            first = await session.send(SENDER, "a@example.com", MSG, then=(SENDER, "b@example.com", MSG, None))
            assert not first.ok and out_of_step(first), first
            again = await session.send(SENDER, "b@example.com", MSG)
            assert again.ok, again
        finally:
            await session.close()
    assert server.accepted == [server.contents[-1]], "only the last content was accepted"
