"""A hostile SMTP server for the tests: a real TCP server on 127.0.0.1 (port 0,
``tests.smtpd.RawServer``) that speaks just enough SMTP and answers the
commands named in ``replies`` with whatever bytes an attacker likes (escape
sequences, an echoed password); every other command is accepted."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Coroutine
from typing import Any

from tests.smtpd import RawServer

# What a server under an attacker's control may answer (issue 10, item 5).
ESCAPES_550 = (
    "550 5.1.1 \x1b]0;PWNED\x07\x1b[2J\x1b[31mRED\x1b[0m \x1b]8;;http://evil.example/\x07click\x1b]8;;\x07 here\r\n"
)
USER, PASSWORD = "alice", "s3cret-pw"
PLAIN = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
# A 535 that echoes the password back in base64 (AUTH PLAIN) and in clear (issue 10, item 6).
ECHO_535 = f"535 5.7.8 bad credentials: you sent {PLAIN} which is |{USER}|{PASSWORD}\r\n"
SECRET_FORMS = (PASSWORD, PLAIN, PLAIN.rstrip("="), base64.b64encode(PASSWORD.encode()).decode())

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


def scripted(replies: dict[str, str], received: list[bytes] | None = None) -> Script:
    """A session script: ``replies`` maps a command (EHLO, AUTH, MAIL, RCPT,
    DATA — the reply after the message — or GREETING) to its reply line(s)."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(replies.get("GREETING", "220 hostile.example ESMTP\r\n").encode())
        await writer.drain()
        while line := await reader.readline():
            verb = line.split(b" ", 1)[0].strip().upper().decode("ascii", "replace")
            if verb in ("EHLO", "HELO"):
                answer = replies.get("EHLO", "250-hostile.example\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
            elif verb == "DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                data = b""
                while (chunk := await reader.readline()) and chunk != b".\r\n":
                    data += chunk
                if received is not None:
                    received.append(data)
                answer = replies.get("DATA", "250 2.0.0 queued\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                return
            else:
                answer = replies.get(verb, "235 2.7.0 accepted\r\n" if verb == "AUTH" else "250 OK\r\n")
            writer.write(answer.encode())
            await writer.drain()

    return script


def hostile_server(replies: dict[str, str], received: list[bytes] | None = None) -> RawServer:
    return RawServer(scripted(replies, received))
