"""One mail transaction (MAIL, RCPT..., DATA, the content) on an open
aiosmtplib connection: with SMTP PIPELINING (RFC 2920) when the server offers
it and the MTA allows it, or one command at a time.

Pipelined, MAIL FROM, every RCPT TO and DATA are written in one go; their
replies are then read in order with aiosmtplib's own reply parser
(``SMTPProtocol._read_response_from_buffer``, the parser behind
``read_response``) and each is matched to its command. The content goes only
after a 354. Two round trips per message instead of four; with the next
message's group written right after a content (``then``, as the worker
does), one write and one round trip per message.

Why not ``read_response`` itself: it parses one reply per ``data_received``
and can drop bytes that arrive while a parsed reply waits to be picked up (its
guard against unsolicited data). Replies to pipelined commands arrive
together or back to back, so here a reply left in the buffer is parsed from
the buffer, and the protocol's reply waiter is re-armed in the same step that
takes its result (no hop through ``wait_for``), so nothing arriving meanwhile
is dropped. The protocol's command lock is held for the whole exchange.

RFC 2920 3.1: a refused MAIL or RCPT does not stop the reading; every
command's reply is read. If DATA got 354 although no recipient was accepted
(a server that does not check), a lone "." ends the empty message and the
session sends RSET; the connection stays usable.

Out of step: a server that answers more replies than commands, or a reply
no command in its place can have (a 354 to MAIL or RCPT, a 250 to DATA, a 354
to the content), would have its replies paired with the wrong commands — a
refusal of the content read as the reply to an earlier command, a message
marked sent that the server refused. Both ways of sending check every reply
against its command (``_in_step``) and that nothing more came with them (a
reply left in the buffer would be taken for the next command's). Found before
the content, the transaction ends unsent with ``OutOfStepError`` (a protocol
failure of the MTA: the message goes to another MTA) and the connection is
closed. Found with the content's reply: a reply too many after it (the
content answered twice; the next message's group, read with it, one reply
late) leaves the content's reply standing — the message is not sent twice —
and the next group unsent; replies early or missing (a 354 before DATA's
place: the group answered before the content) leave the content's fate
unknown: it counts as not sent, like a reply lost with the connection, never
a refused message marked sent.

``Exchange`` holds what the server said; ``outcomes`` turns it into an
Outcome per recipient (``ertui.smtp.classify`` for every failure), whichever
way it was sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiosmtplib
from aiosmtplib import SMTPResponse
from aiosmtplib.email import quote_address
from aiosmtplib.protocol import COMMAND_INJECTION_REGEX, PERIOD_REGEX, SMTPProtocol, normalize_message_line_endings

from ertui.smtp.classify import classify
from ertui.smtp.outcome import MtaConfig, Outcome, OutOfStepError, SmtpUtf8UnsupportedError
from ertui.smtp.transcript import Transcript

Args = tuple[bytes, ...]
RCPT_OK = (250, 251)
NOTE = "PIPELINING: MAIL FROM, {n} RCPT TO and DATA written in one go (RFC 2920), replies paired in order"


class Withdrawn(Exception):
    """The sender's guard said no before the content went: nothing was sent."""


@dataclass
class Exchange:
    """What the server said to one transaction, as far as it got."""

    pipelined: bool = False
    mail: SMTPResponse | None = None
    rcpts: list[SMTPResponse] = field(default_factory=list)
    data: SMTPResponse | None = None  # the reply to DATA (354: go on)
    end: SMTPResponse | None = None  # the reply to the content
    error: BaseException | None = None  # what ended it early (network, timeout)

    @property
    def accepted(self) -> bool:
        for r in self.rcpts:  # noqa: SIM110 (a loop, not any(): asked several times per message)
            if r.code in RCPT_OK:
                return True
        return False

    @property
    def envelope_ok(self) -> bool:
        return self.mail is not None and self.mail.code == 250 and self.accepted


_UNSAFE_IN_ADDRESS = frozenset('<> \t\r\n\0"()[],;:\\')


def plain_address(address: str) -> bool:
    """An ASCII address with nothing that needs parsing or quoting on a command line."""
    return address.isascii() and bool(address) and _UNSAFE_IN_ADDRESS.isdisjoint(address)


def _path(address: str, encoding: str) -> bytes:
    # Hot path: the queue's addresses were validated at enqueue, so a plain one
    # skips aiosmtplib's per-command address parsing (~15 % of a send).
    if plain_address(address):
        return b"<" + address.encode("ascii") + b">"
    return quote_address(address).encode(encoding)


def mail_args(sender: str, options: Sequence[str], encoding: str) -> Args:
    return (b"MAIL", b"FROM:" + _path(sender, encoding), *[o.encode("ascii") for o in options])


def rcpt_args(recipient: str, encoding: str) -> Args:
    return (b"RCPT", b"TO:" + _path(recipient, encoding))


def envelope(
    sender: str, recipients: Sequence[str], data: bytes, eightbit: bool, smtputf8: bool
) -> tuple[Args, list[Args]]:
    """MAIL's and each RCPT's arguments; SMTPUTF8 and 8BITMIME as the addresses
    and bytes need (``eightbit``/``smtputf8``: what the server offers)."""
    options: list[str] = []
    if eightbit and not data.isascii():
        options.append("BODY=8BITMIME")
    encoding = "ascii"
    if not (sender.isascii() and all(r.isascii() for r in recipients)):
        if not smtputf8:
            raise SmtpUtf8UnsupportedError(next(a for a in (sender, *recipients) if not a.isascii()))
        options.append("SMTPUTF8")
        encoding = "utf-8"
    return mail_args(sender, options, encoding), [rcpt_args(r, encoding) for r in recipients]


def _content(data: bytes) -> bytes:
    """The message as it goes after 354: line endings CRLF, dots stuffed, the
    final dot (what aiosmtplib's ``execute_data_command`` sends)."""
    crlf = data.count(b"\r\n")
    if crlf == data.count(b"\n") == data.count(b"\r") and b"\n." not in data and not data.startswith(b"."):
        # Already CRLF throughout with nothing to stuff (as ertui renders): no regex.
        return data + (b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n")
    return PERIOD_REGEX.sub(b"..", normalize_message_line_endings(data)) + b".\r\n"


async def one_by_one(
    smtp: aiosmtplib.SMTP,
    mail: Args,
    rcpts: Sequence[Args],
    data: bytes,
    x: Exchange,
    guard: Callable[[], bool] | None,
    t: Transcript | None,
) -> None:
    """Each command waits for its reply (a server without PIPELINING), each
    reply checked against its command (see the module docstring)."""
    protocol = smtp.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Server not connected")
    try:
        _nothing_pending(protocol)
        x.mail = await _command(smtp, mail)
        if x.mail.code != 250:
            return
        for args in rcpts:
            x.rcpts.append(reply := await _command(smtp, args))
            if reply.code == 421:  # closing: no point in the rest
                return
        if not x.accepted:
            return
        if guard is not None and not guard():
            raise Withdrawn
        x.data = await _command(smtp, (b"DATA",))
        if x.data.code != 354:
            return
        lock = protocol._command_lock
        if lock is None:
            raise aiosmtplib.SMTPServerDisconnected("Server not connected")
        async with lock:
            if t is not None:
                t.client(f"<message: {len(data)} bytes>")
                t.client(".")
            protocol._response_pending = True
            protocol.write(_content(data))
            ends: list[SMTPResponse] = []
            await _read(protocol, ends, 1, smtp.timeout, [], t)
        try:
            _in_step(protocol, [CONTENT], ends)
        except OutOfStepError:
            if not _surplus([CONTENT], ends):
                raise
            smtp.close()  # a reply too many after the content's own: it stands, the connection does not
        x.end = ends[0]
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OutOfStepError):
        smtp.close()  # desynchronised: never pair a late reply with a later command
        raise


async def _command(smtp: aiosmtplib.SMTP, args: Args) -> SMTPResponse:
    """One command and its reply, which must fit it, with nothing after it."""
    reply = await smtp.execute_command(*args)
    _in_step(smtp.protocol, [args[0]], [reply])
    return reply


CONTENT = b"."  # the message content, as a step of ``_in_step``
_STEP_NAMES = {b"MAIL": "MAIL FROM", b"RCPT": "RCPT TO", CONTENT: "the message content"}


def _fits(code: int, step: bytes) -> bool:
    """Whether a reply with ``code`` can answer ``step`` (RFC 5321 4.3.2):
    DATA 354 or a refusal, every other command and the content 2xx or a refusal."""
    if step == b"DATA":
        return code == 354 or 400 <= code < 600
    return 200 <= code < 300 or 400 <= code < 600


def _in_step(protocol: SMTPProtocol | None, steps: Sequence[bytes], replies: Sequence[SMTPResponse]) -> None:
    """Raise ``OutOfStepError`` unless each reply fits its command and (with a
    ``protocol``) no further reply came with them."""
    for step, reply in zip(steps, replies, strict=False):
        if not _fits(reply.code, step):
            name = _STEP_NAMES.get(step, step.decode("ascii", "replace"))
            raise OutOfStepError(f"{reply.code} in reply to {name}")
    if protocol is not None:
        _nothing_pending(protocol, len(replies))


def _surplus(steps: Sequence[bytes], replies: Sequence[SMTPResponse]) -> bool:
    """Out of step with a reply too many, after the content's own: the first
    reply fits the content and no 354 came before DATA's place (a 354 early, or
    a reply missing, means the first reply may be a later command's)."""
    if not replies or not _fits(replies[0].code, CONTENT) or len(replies) < len(steps):
        return False
    return all(r.code != 354 for r, step in zip(replies[1:], steps[1:], strict=False) if step != b"DATA")


def _nothing_pending(protocol: SMTPProtocol, expected: int = 0) -> None:
    """A reply (or part of one) already in the buffer answers no command sent."""
    if protocol._buffer:
        said = f"after the {expected} expected" if expected else "before any command"
        raise OutOfStepError(f"more replies than commands (another came {said})")


def group(mail: Args, rcpts: Sequence[Args]) -> list[Args]:
    """The commands of one pipelined group: MAIL, every RCPT, DATA last."""
    return [mail, *rcpts, (b"DATA",)]


def _joined(commands: Sequence[Args]) -> bytes:
    lines = [b" ".join(args) for args in commands]
    for line in lines:  # (the regex matches one control character: the same as per argument)
        if COMMAND_INJECTION_REGEX.search(line):
            raise ValueError("Command arg contains a prohibited control character")
    return b"\r\n".join(lines) + b"\r\n" if lines else b""


async def pipelined(
    smtp: aiosmtplib.SMTP,
    commands: Sequence[Args],
    data: bytes,
    x: Exchange,
    guard: Callable[[], bool] | None,
    t: Transcript | None,
    *,
    ahead: Exchange | None = None,
    then: Sequence[Args] = (),
) -> Exchange | None:
    """A ``group`` (MAIL, RCPT... and DATA) in one write, their replies in
    order, then the content after a 354 (see the module docstring). The guard
    is asked before the write and again before the content.

    ``ahead``: this group went out already (after the previous content) and
    these are its replies (``commands`` unused). ``then``: the next message's
    group, written right after this content, as RFC 2920 allows ("the actual
    transfer of message content is explicitly allowed to be the first
    'command' in a group") — one write per message; its replies, read with
    this content's, are returned for the next call as its ``ahead``."""
    protocol = smtp.protocol
    lock = protocol._command_lock if protocol is not None else None
    if protocol is None or lock is None:
        raise aiosmtplib.SMTPServerDisconnected("Server not connected")
    x.pipelined = True
    timeout = smtp.timeout
    try:
        async with lock:
            if ahead is None:
                _nothing_pending(protocol)
                protocol._response_pending = True
                protocol.write(_joined(commands))
                if t is not None:
                    t.note(NOTE.format(n=len(commands) - 2))
                replies: list[SMTPResponse] = []
                try:
                    await _read(protocol, replies, len(commands), timeout, commands, t)
                finally:  # what came before a failure still counts (e.g. a 421 to MAIL)
                    _fill(x, replies, len(commands))
                _in_step(protocol, [c[0] for c in commands], replies)
            else:
                x.mail, x.rcpts, x.data, x.error = ahead.mail, ahead.rcpts, ahead.data, ahead.error
            if x.data is None or x.data.code != 354:
                return None
            following: Exchange | None = None
            if x.envelope_ok:
                if guard is not None and not guard():
                    raise Withdrawn
                body = _content(data)
                if t is not None:
                    t.client(f"<message: {len(data)} bytes>")
                    t.client(".")
                if then:
                    body += _joined(then)
                    following = Exchange(pipelined=True)
            else:  # 354 with nothing to deliver: end the empty message (RFC 2920 3.1)
                body = b".\r\n"
                if t is not None:
                    t.client(".")
            protocol._response_pending = True
            protocol.write(body)
            ends: list[SMTPResponse] = []
            try:
                await _read(protocol, ends, 1 + len(then) if following else 1, timeout, [], t)
            except Exception as exc:
                if following is None or not ends:
                    raise
                following.error = exc  # the next message's failure, not this one's
                smtp.close()
            steps = [CONTENT, *(c[0] for c in then)] if following is not None else [CONTENT]
            try:
                _in_step(None if following is not None and following.error else protocol, steps, ends)
            except OutOfStepError as exc:
                if not _surplus(steps, ends):  # replies early or missing: the first may not be the content's
                    raise
                smtp.close()  # a reply too many: the content's own came first; the rest is not trusted
                following = None if following is None else Exchange(pipelined=True, error=exc)
            else:
                if following is not None:
                    _fill(following, ends[1:], len(then))
            if x.envelope_ok:
                x.end = ends[0]
            return following
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OutOfStepError):
        smtp.close()  # desynchronised: never pair a late reply with a later command
        raise


def _fill(x: Exchange, replies: Sequence[SMTPResponse], count: int) -> None:
    """The replies to a group of ``count`` commands, as far as they came."""
    x.mail = replies[0] if replies else None
    x.rcpts = list(replies[1 : count - 1])
    x.data = replies[-1] if len(replies) == count else None


async def _read(
    protocol: SMTPProtocol,
    replies: list[SMTPResponse],
    count: int,
    timeout: float | None,  # noqa: ASYNC109 (the reads share one deadline, set here)
    commands: Sequence[Args],
    t: Transcript | None,
) -> None:
    """``count`` replies into ``replies``, in order, within one timeout. In a
    transcript each reply follows its command (``C:`` then ``S:``), so the
    steps pair them."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            for i in range(count):
                if t is not None and i < len(commands):
                    t.client(b" ".join(commands[i]).decode("utf-8", "replace"))
                reply = await _next_reply(protocol, loop)
                replies.append(reply)
                if t is not None:
                    t.server(reply.code, reply.message)
    except TimeoutError as exc:
        raise aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response") from exc
    finally:
        protocol._response_pending = False


async def _next_reply(protocol: SMTPProtocol, loop: asyncio.AbstractEventLoop) -> SMTPResponse:
    waiter = protocol._response_waiter
    if waiter is None or not waiter.done():
        # A reply that came in the same chunk as an earlier one is still in
        # the buffer (the protocol parses one reply per chunk).
        parsed = protocol._read_response_from_buffer() if protocol._buffer else None
        if parsed is not None:
            return parsed
        if waiter is None:
            raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    protocol._response_pending = True
    try:
        return await waiter
    finally:
        # Re-armed in this same step: a reply arriving next is kept, not dropped.
        protocol._response_waiter = loop.create_future() if protocol.transport is not None else None


def outcomes(x: Exchange, sender: str, recipients: Sequence[str], config: MtaConfig | None) -> list[Outcome]:
    """An Outcome per recipient, in order: a refused MAIL fails them all (the
    503s a pipelining server gives the rest are its echo), a refused RCPT only
    its own recipient; the accepted ones share the fate of DATA and the content."""
    error = x.error or aiosmtplib.SMTPServerDisconnected("the server sent no reply")
    if isinstance(error, OutOfStepError):  # no reply of the transaction can be trusted
        return [classify(error, "mail", config)] * len(recipients)
    if x.mail is None or x.mail.code != 250:
        exc = error if x.mail is None else aiosmtplib.SMTPSenderRefused(x.mail.code, x.mail.message, sender)
        return [classify(exc, "mail", config)] * len(recipients)
    result: list[Outcome] = []
    done: Outcome | None = None
    for i, recipient in enumerate(recipients):
        reply = x.rcpts[i] if i < len(x.rcpts) else None
        if reply is None:
            result.append(classify(error, "rcpt", config))
        elif reply.code not in RCPT_OK:
            refused = aiosmtplib.SMTPRecipientRefused(reply.code, reply.message, recipient)
            result.append(classify(refused, "rcpt", config))
        else:
            done = done or _delivery(x, error, config)
            result.append(done)
    return result


def _delivery(x: Exchange, error: BaseException, config: MtaConfig | None) -> Outcome:
    """The outcome of DATA and the content, for every accepted recipient."""
    if x.end is not None and x.end.code == 250:
        return Outcome(ok=True, code=x.end.code, message=x.end.message)
    refusal = x.end or (x.data if x.data is not None and x.data.code != 354 else None)
    if refusal is not None:
        return classify(aiosmtplib.SMTPDataError(refusal.code, refusal.message), "data", config)
    return classify(error, "data", config)
