"""SMTP PIPELINING (RFC 2920): against aiosmtpd servers that offer it and that
do not, and against a small raw server that records how the commands arrived
(one read or one per read) and answers as a script says."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from ertui.smtp.outcome import ErrorKind, MtaConfig, Outcome
from ertui.smtp.probe import send_test
from ertui.smtp.session import SmtpSession
from ertui.smtp.transcript import Transcript
from tests.smtpd import RawServer, Received, SmtpServer

HELO = "ertui.example.com"
SENDER = "admin@example.com"
# Bare LF, a lone CR and lines starting with a dot: the content must arrive
# exactly as the one-command-at-a-time path sends it.
MSG = (
    b"From: admin@example.com\r\nTo: b@example.com\r\nSubject: pipelined\r\n\r\n"
    b"line one\n.a line starting with a dot\r\n..two dots\r\nlone\rCR\r\n.\r\nend"
)


def cfg(port: int, **kw: object) -> MtaConfig:
    kw.setdefault("timeout", 5.0)
    return MtaConfig(host="127.0.0.1", port=port, **kw)  # type: ignore[arg-type]


@pytest.fixture
def piped_server() -> Iterator[SmtpServer]:
    with SmtpServer("plain", pipelining=True) as srv:
        yield srv


async def send_many(config: MtaConfig, recipients: list[str], transcript: Transcript | None = None) -> list[Outcome]:
    session = SmtpSession(config, HELO, transcript=transcript)
    try:
        return await session.send_many(SENDER, recipients, MSG)
    finally:
        await session.close()


def pipelined(t: Transcript) -> bool:
    return any(line.startswith("* PIPELINING: MAIL FROM") for line in t.lines)


# -- aiosmtpd ------------------------------------------------------------------


async def test_a_server_that_offers_pipelining_gets_the_message(piped_server: SmtpServer) -> None:
    t = Transcript()
    [outcome] = await send_many(cfg(piped_server.port), ["b@example.com"], t)
    assert outcome.ok, outcome
    assert outcome.message.startswith("2.0.0 Ok: queued as TEST")
    assert pipelined(t), t.lines
    assert piped_server.received[0].rcpt_tos == ["b@example.com"]


async def test_a_server_that_does_not_offer_it_is_sent_one_command_at_a_time(smtp_server: SmtpServer) -> None:
    t = Transcript()
    [outcome] = await send_many(cfg(smtp_server.port), ["b@example.com"], t)
    assert outcome.ok, outcome
    assert not pipelined(t), t.lines
    assert not any("PIPELINING" in line for line in t.lines)


async def test_the_server_sees_the_same_bytes_with_and_without_pipelining(
    piped_server: SmtpServer, smtp_server: SmtpServer
) -> None:
    rcpts = ["b@example.com", "c@example.com"]
    for srv in (piped_server, smtp_server):
        assert all(o.ok for o in await send_many(cfg(srv.port), rcpts))
    assert piped_server.received == smtp_server.received
    assert piped_server.received == [Received(SENDER, rcpts, piped_server.received[0].data)]
    assert b"\r\n.a line starting with a dot\r\n..two dots\r\n" in piped_server.received[0].data


async def test_a_refused_rcpt_in_the_middle_fails_only_that_recipient(piped_server: SmtpServer) -> None:
    piped_server.behaviour.rcpt_replies["bad@example.com"] = "550 5.1.1 no such user"
    t = Transcript()
    session = SmtpSession(cfg(piped_server.port), HELO, transcript=t)
    try:
        first, bad, last = await session.send_many(SENDER, ["a@example.com", "bad@example.com", "c@example.com"], MSG)
        assert first.ok and last.ok, (first, last)
        assert bad.kind == ErrorKind.RECIPIENT_REFUSED and bad.permanent and bad.code == 550, bad
        assert pipelined(t)
        # The connection goes on: the next message on the same session.
        assert (await session.send(SENDER, "d@example.com", MSG)).ok
    finally:
        await session.close()
    assert [r.rcpt_tos for r in piped_server.received] == [["a@example.com", "c@example.com"], ["d@example.com"]]
    assert piped_server.connections_total == 1


async def test_a_refused_mail_fails_every_recipient_and_the_session_stays_usable(piped_server: SmtpServer) -> None:
    piped_server.behaviour.mail_reply = "550 5.7.1 sender not allowed"
    t = Transcript()
    session = SmtpSession(cfg(piped_server.port), HELO, transcript=t)
    try:
        outcomes = await session.send_many(SENDER, ["a@example.com", "b@example.com"], MSG)
        for o in outcomes:
            assert o.kind == ErrorKind.SENDER_REFUSED and o.code == 550 and o.permanent, o
        # aiosmtpd answered the pipelined RCPTs and DATA with 503 (RFC 2920):
        # every reply was read and paired with its command.
        assert [line for line in t.lines if line.startswith("S: 503")] == [
            "S: 503 Error: need MAIL command",
            "S: 503 Error: need MAIL command",
            "S: 503 Error: need RCPT command",
        ]
        assert "C: RSET" in t.lines
        piped_server.behaviour.mail_reply = None
        assert (await session.send(SENDER, "c@example.com", MSG)).ok
    finally:
        await session.close()
    assert [r.rcpt_tos for r in piped_server.received] == [["c@example.com"]]
    assert piped_server.connections_total == 1


async def test_every_rcpt_refused_sends_no_content(piped_server: SmtpServer) -> None:
    piped_server.behaviour.rcpt_reply = "451 4.3.0 try later"
    [o] = await send_many(cfg(piped_server.port), ["a@example.com"])
    assert o.kind == ErrorKind.RECIPIENT_REFUSED and not o.permanent, o
    assert piped_server.received == []


async def test_the_mta_setting_turns_it_off(piped_server: SmtpServer) -> None:
    t = Transcript()
    [o] = await send_many(cfg(piped_server.port, pipelining=False), ["a@example.com"], t)
    assert o.ok
    assert not pipelined(t)
    assert "* PIPELINING: offered by the server, turned off for this MTA" in t.lines


async def test_the_test_steps_say_whether_it_was_pipelined(piped_server: SmtpServer, smtp_server: SmtpServer) -> None:
    result = await send_test(cfg(piped_server.port), SENDER, "b@example.com", HELO)
    assert result.outcome.ok, result.outcome
    steps = {s.name: s for s in result.steps}
    assert "PIPELINING" in steps["ehlo"].detail
    for name in ("mail", "rcpt", "data"):
        assert steps[name].ok and steps[name].detail.endswith("(pipelined)"), steps[name]
    assert steps["data"].detail.startswith("250 "), "the 354 does not end the data step"

    plain = await send_test(cfg(smtp_server.port), SENDER, "b@example.com", HELO)
    assert plain.outcome.ok
    assert all("pipelined" not in s.detail for s in plain.steps)

    off = await send_test(cfg(piped_server.port, pipelining=False), SENDER, "b@example.com", HELO)
    assert {s.name: s for s in off.steps}["mail"].detail.endswith("(not pipelined: turned off for this MTA)")


# -- a raw server that records how the commands arrive ---------------------------


@dataclass
class Script:
    """A line-based SMTP server: records every read after EHLO and answers each
    command as told (replies to a group written back to back, or ``spread``
    apart so they reach the client in separate reads)."""

    pipelining: bool = True
    mail: bytes = b"250 2.1.0 Ok"
    rcpt: dict[bytes, bytes] = field(default_factory=dict)  # address -> reply
    data: bytes = b"354 End data with <CR><LF>.<CR><LF>"
    spread: float = 0.0
    reads: list[bytes] = field(default_factory=list)
    commands: list[bytes] = field(default_factory=list)
    contents: list[bytes] = field(default_factory=list)

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 raw.test ESMTP\r\n")
        buf, in_data = b"", False
        while chunk := await reader.read(65536):
            buf += chunk
            if not buf.upper().startswith(b"EHLO"):
                self.reads.append(chunk)
            while True:
                if in_data:
                    end = 0 if buf.startswith(b".\r\n") else buf.find(b"\r\n.\r\n") + 2
                    if end < 2 and not buf.startswith(b".\r\n"):
                        break
                    self.contents.append(buf[:end])
                    buf, in_data = buf[end + 3 :], False
                    await self._reply(writer, b"554 5.5.1 no valid recipients" if end == 0 else b"250 2.0.0 queued")
                    continue
                line, sep, rest = buf.partition(b"\r\n")
                if not sep:
                    break
                buf = rest
                self.commands.append(line)
                verb = line[:4].upper()
                if verb == b"EHLO":
                    ext = b"250-PIPELINING\r\n" if self.pipelining else b""
                    writer.write(b"250-raw.test\r\n" + ext + b"250 8BITMIME\r\n")
                elif verb == b"MAIL":
                    await self._reply(writer, self.mail)
                elif verb == b"RCPT":
                    await self._reply(writer, self.rcpt.get(line[9:-1], b"250 2.1.5 Ok"))
                elif verb == b"DATA":
                    await self._reply(writer, self.data)
                    in_data = self.data.startswith(b"354")
                elif verb == b"QUIT":
                    writer.write(b"221 Bye\r\n")
                    await writer.drain()
                    return
                else:  # RSET, NOOP
                    await self._reply(writer, b"250 2.0.0 Ok")

    async def _reply(self, writer: asyncio.StreamWriter, reply: bytes) -> None:
        if not reply:  # silence
            return
        writer.write(reply + b"\r\n")
        if self.spread:
            await writer.drain()
            await asyncio.sleep(self.spread)


@pytest.fixture
def raw() -> Iterator[tuple[Script, RawServer]]:
    script = Script()
    with RawServer(script) as srv:
        yield script, srv


async def test_mail_rcpt_and_data_arrive_in_one_read(raw: tuple[Script, RawServer]) -> None:
    script, srv = raw
    [o] = await send_many(cfg(srv.port), ["b@example.com"])
    assert o.ok, o
    assert script.reads[0] == b"MAIL FROM:<admin@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"


async def test_without_pipelining_each_command_has_its_own_read(raw: tuple[Script, RawServer]) -> None:
    script, srv = raw
    script.pipelining = False
    [o] = await send_many(cfg(srv.port), ["b@example.com"])
    assert o.ok, o
    assert script.reads[:3] == [b"MAIL FROM:<admin@example.com>\r\n", b"RCPT TO:<b@example.com>\r\n", b"DATA\r\n"]


async def test_replies_that_come_apart_are_each_paired_with_their_command(raw: tuple[Script, RawServer]) -> None:
    script, srv = raw
    script.spread = 0.02
    script.rcpt[b"bad@example.com"] = b"550-5.1.1 no such user\r\n550 5.1.1 (a reply of two lines)"
    session = SmtpSession(cfg(srv.port), HELO)
    try:
        rcpts = ["a@example.com", "bad@example.com", "c@example.com"]
        a, bad, c = await session.send_many(SENDER, rcpts, MSG)
        assert a.ok and c.ok and a.message == "2.0.0 queued", (a, c)
        assert bad.kind == ErrorKind.RECIPIENT_REFUSED and "two lines" in bad.message, bad
        assert (await session.send(SENDER, "d@example.com", MSG)).ok
    finally:
        await session.close()
    assert len(script.contents) == 2


async def test_354_after_a_refused_mail_ends_the_empty_message_then_rset(raw: tuple[Script, RawServer]) -> None:
    """RFC 2920 3.1: DATA accepted although MAIL was refused (a server that does
    not check): the client sends a lone dot, then RSET, and goes on."""
    script, srv = raw
    script.mail = b"550 5.7.1 not you"
    script.rcpt[b"b@example.com"] = b"503 5.5.1 need MAIL"
    session = SmtpSession(cfg(srv.port), HELO)
    try:
        [o] = await session.send_many(SENDER, ["b@example.com"], MSG)
        assert o.kind == ErrorKind.SENDER_REFUSED and o.code == 550, o
        assert script.contents == [b""], "a lone dot, never the message"
        assert script.commands[-1] == b"RSET"
        script.mail = b"250 2.1.0 Ok"
        del script.rcpt[b"b@example.com"]
        assert (await session.send(SENDER, "b@example.com", MSG)).ok
    finally:
        await session.close()
    assert len(script.contents) == 2 and script.contents[1].startswith(b"From: admin@example.com")
    assert srv.connections_total == 1


async def test_a_421_in_the_middle_of_a_batch_is_an_mta_failure(raw: tuple[Script, RawServer]) -> None:
    script, srv = raw
    script.rcpt[b"b@example.com"] = b"421 4.3.2 shutting down"
    [o] = await send_many(cfg(srv.port), ["b@example.com"])
    assert o.kind == ErrorKind.DISCONNECTED and o.mta_failure, o


async def test_the_next_envelope_goes_with_the_content(raw: tuple[Script, RawServer]) -> None:
    """RFC 2920: the content may open a group; the worker's ``then`` writes
    the next message's MAIL, RCPT and DATA right after this content."""
    script, srv = raw
    script.rcpt[b"bad@example.com"] = b"550 5.1.1 no such user"
    session = SmtpSession(cfg(srv.port), HELO)
    try:
        assert (await session.send(SENDER, "a@example.com", MSG, then=(SENDER, "bad@example.com", MSG, None))).ok
        group = b"MAIL FROM:<admin@example.com>\r\nRCPT TO:<bad@example.com>\r\nDATA\r\n"
        assert script.reads[1].endswith(b"\r\n.\r\n" + group)
        bad = await session.send(SENDER, "bad@example.com", MSG, then=(SENDER, "c@example.com", MSG, None))
        assert bad.kind == ErrorKind.RECIPIENT_REFUSED and bad.code == 550, bad
        # 354 came for a group without a recipient: a lone dot and RSET, then c's group afresh
        assert script.contents[1] == b"" and b"RSET" in script.commands
        assert (await session.send(SENDER, "c@example.com", MSG)).ok
    finally:
        await session.close()
    assert len([c for c in script.contents if c]) == 2 and script.commands[-1] == b"QUIT"


async def test_a_next_message_that_does_not_come_is_never_sent(raw: tuple[Script, RawServer]) -> None:
    script, srv = raw
    session = SmtpSession(cfg(srv.port), HELO)
    allowed = [True]
    try:
        then = (SENDER, "b@example.com", MSG, lambda: allowed[0])
        assert (await session.send(SENDER, "a@example.com", MSG, then=then)).ok
        allowed[0] = False  # its lease ran out meanwhile
        withdrawn = await session.send(SENDER, "b@example.com", MSG, guard=lambda: allowed[0])
        assert withdrawn.kind == ErrorKind.DISCONNECTED and "withdrawn" in withdrawn.message
        # Another message on the session: a fresh connection, b's envelope left behind unsent.
        assert (await session.send(SENDER, "c@example.com", MSG, then=(SENDER, "d@example.com", MSG, None))).ok
    finally:
        await session.close()  # d's group is out and 354 came: hang up, never QUIT as content
    assert len(script.contents) == 2
    assert srv.connections_total == 2
    assert b"QUIT" not in script.commands


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"a\r\nb\r\n",
        b"a\r\nb",
        b".start\r\n",
        b"a\r\n.b\r\n",
        b"a\nb\r\n",
        b"a\rb\r\n",
        b"\r\n.\r\n",
        b"x\r\r\n\n",
    ],
)
def test_the_content_is_what_aiosmtplib_would_send(data: bytes) -> None:
    from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

    from ertui.smtp.pipeline import _content

    assert _content(data) == PERIOD_REGEX.sub(b"..", normalize_message_line_endings(data)) + b".\r\n"


@pytest.mark.parametrize(("setup", "failing"), [("mail", "mail"), ("rcpt", "rcpt")])
async def test_a_pipelined_test_reports_only_the_step_that_failed(
    setup: str, failing: str, piped_server: SmtpServer
) -> None:
    """The 503s a server gives the commands after a refused MAIL or RCPT are in
    the transcript, not failed steps of their own."""
    if setup == "mail":
        piped_server.behaviour.mail_reply = "553 5.7.1 sender not allowed"
    else:
        piped_server.behaviour.rcpt_reply = "550 5.1.1 no such user"
    result = await send_test(cfg(piped_server.port), SENDER, "b@example.com", HELO)
    assert [s.name for s in result.steps if not s.ok] == [failing]
    assert any(line.startswith("S: 503") for line in result.transcript)
    assert result.steps[-1].name in (failing, "quit")


async def test_a_reply_that_never_comes_is_a_timeout_and_the_next_send_reconnects(
    raw: tuple[Script, RawServer],
) -> None:
    script, srv = raw
    script.data = b""  # MAIL and RCPT answered, DATA never
    session = SmtpSession(cfg(srv.port, timeout=1.0), HELO)
    try:
        [o] = await session.send_many(SENDER, ["b@example.com"], MSG)
        assert o.kind == ErrorKind.TIMEOUT and o.mta_failure, o
        assert not session.is_open
        script.data = b"354 go ahead"
        assert (await session.send(SENDER, "b@example.com", MSG)).ok
    finally:
        await session.close()
    assert srv.connections_total == 2 and len(script.contents) == 1
