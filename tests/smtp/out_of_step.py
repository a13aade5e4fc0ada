"""A raw SMTP server whose replies do not pair with the commands (for
``tests/smtp/test_out_of_step.py`` and the worker's test of it): more replies
than commands, a reply no command in its place can have, replies out of order."""

from __future__ import annotations

import asyncio
import threading

REFUSED = b"550 5.7.1 content rejected\r\n"

# What the first connection answers in place of the normal reply.
TRICKS: dict[str, dict[str, bytes]] = {
    # a reply more to DATA, in the same write as its 354; the content is then refused
    "surplus after 354": {"DATA": b"354 go ahead\r\n250 2.0.0 extra\r\n", "CONTENT": REFUSED},
    # MAIL answered twice; the recipient refused
    "MAIL answered twice": {"MAIL": b"250 ok\r\n250 ok again\r\n", "RCPT": b"550 5.1.1 no such user\r\n"},
    # a 354 where MAIL's reply belongs (a server answering DATA first)
    "354 to MAIL": {"MAIL": b"354 go ahead\r\n"},
    # a 250 where DATA's 354 belongs
    "250 to DATA": {"DATA": b"250 2.0.0 ok\r\n"},
}
# The content answered twice: the second reply would be the next command's.
TWICE = {"CONTENT": b"250 2.0.0 queued\r\n250 2.0.0 queued again\r\n"}


class Hostile:
    """A line-based SMTP server; on its first connection it answers as
    ``tricks`` says (``always``: on every one), afterwards as a good server. With ``reorder``, a content
    read together with the next message's group gets its reply after the
    group's replies (out of order), and is refused."""

    def __init__(
        self, tricks: dict[str, bytes], *, pipelining: bool, reorder: bool = False, always: bool = False
    ) -> None:
        self.tricks = tricks
        self.pipelining = pipelining
        self.reorder = reorder
        self.always = always  # misbehave on every connection, not only the first
        self.connections = 0
        self.datas = 0  # DATA commands seen
        self.contents: list[bytes] = []  # what reached the server, accepted or not
        self.accepted: list[bytes] = []
        self._lock = threading.Lock()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.connections += 1
            first = self.connections == 1 or self.always
            tricks = self.tricks if first else {}
        writer.write(b"220 hostile.test ESMTP\r\n")
        buf, in_data, held = b"", False, b""
        while chunk := await reader.read(65536):
            buf += chunk
            out = b""
            while True:
                if in_data:
                    end = 0 if buf.startswith(b".\r\n") else buf.find(b"\r\n.\r\n") + 2
                    if end < 2 and not buf.startswith(b".\r\n"):
                        break
                    content, buf, in_data = buf[:end], buf[end + 3 :], False
                    with self._lock:
                        self.contents.append(content)
                    reply = tricks.get("CONTENT", b"250 2.0.0 queued\r\n")
                    if self.reorder and first and buf:  # a group came with it: answer it first
                        held, reply = REFUSED, b""
                    elif reply.startswith(b"250"):
                        with self._lock:
                            self.accepted.append(content)
                    out += reply
                    continue
                line, sep, rest = buf.partition(b"\r\n")
                if not sep:
                    break
                buf = rest
                verb = line[:4].upper()
                if verb == b"EHLO":
                    out += (
                        b"250-hostile.test\r\n"
                        + (b"250-PIPELINING\r\n" if self.pipelining else b"")
                        + b"250 8BITMIME\r\n"
                    )
                elif verb == b"QUIT":
                    writer.write(out + b"221 bye\r\n")
                    await writer.drain()
                    return
                elif verb in (b"MAIL", b"RCPT", b"DATA"):
                    default = b"354 go ahead\r\n" if verb == b"DATA" else b"250 ok\r\n"
                    reply = tricks.get(verb.decode(), default)
                    out += reply
                    if verb == b"DATA":
                        with self._lock:
                            self.datas += 1
                        out, held = out + held, b""
                        in_data = reply.startswith(b"354")
                else:  # RSET, NOOP
                    out += b"250 ok\r\n"
            if out:
                writer.write(out)
                await writer.drain()
