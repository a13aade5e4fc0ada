"""Rendering a message to its final RFC 5322 bytes, once, at enqueue.

Fast by construction: headers are written by hand (no ``email.message`` object
per message); only a Subject that needs it goes through ``email.header`` (RFC
2047 encoded words, folded), and that result is cached per subject. The body
is UTF-8 text: plain 7bit when it is ASCII with short lines, otherwise
quoted-printable (so no line is ever longer than 76 characters and no server
needs 8BITMIME). Every line ends in CRLF.
"""

from __future__ import annotations

import binascii
import secrets
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from functools import lru_cache

MAX_LINE = 998  # RFC 5322 hard limit, without CRLF
_SHORT_SUBJECT = 78 - len("Subject: ")


@lru_cache(maxsize=1024)
def subject_header(subject: str) -> str:
    """The Subject header value: as it is when plain ASCII and short, else RFC 2047."""
    if subject.isascii() and len(subject) <= _SHORT_SUBJECT and "=?" not in subject:
        return subject
    charset = "us-ascii" if subject.isascii() and "=?" not in subject else "utf-8"
    return Header(subject, charset, header_name="Subject").encode(linesep="\r\n")


@lru_cache(maxsize=64)
def address_header(address: str, name: str = "") -> str:
    """A From or Reply-To value: the bare address without a name, else
    ``Name <address>`` — the name quoted when it holds specials (``"Ops, Inc."``),
    RFC 2047 encoded words (UTF-8, folded with CRLF) when it is not ASCII or
    holds ``=?`` (as the Subject: ``subject_header``). The
    name is already checked (``ertui.validate.header_text``: no CR/LF)."""
    if not name:
        return address
    if name.isascii() and "=?" not in name:  # "=?" would read as an encoded word
        # formataddr quotes and escapes; the address may be UTF-8 (SMTPUTF8), which it refuses
        shown = formataddr((name, "x@x")).removesuffix(" <x@x>")
    else:
        shown = Header(name, "utf-8", header_name="From").encode(linesep="\r\n")
    return f"{shown} <{address}>"


def date_header(when: datetime) -> str:
    return format_datetime(when)


def new_message_id(host: str) -> str:
    return f"<{secrets.token_hex(12)}@{host}>"


@lru_cache(maxsize=256)
def encoded_body(body: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, body bytes with CRLF line ends and a final CRLF)."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    if text.isascii() and all(len(line) <= MAX_LINE for line in text.split("\n")):
        return "7bit", text.replace("\n", "\r\n").encode("ascii")
    qp = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    return "quoted-printable", qp.replace(b"\n", b"\r\n")


def render(
    *,
    sender: str,
    recipient: str,
    subject: str,
    body: str,
    message_id: str,
    date: str,
    from_name: str = "",
    reply_to: str | None = None,
) -> bytes:
    """The complete message: headers, a blank line, the encoded body. ``sender``
    is the address; ``from_name`` its display name (``address_header``)."""
    cte, payload = encoded_body(body)
    reply = f"Reply-To: {reply_to}\r\n" if reply_to else ""
    head = (
        f"From: {address_header(sender, from_name)}\r\n"
        f"{reply}"
        f"To: {recipient}\r\n"
        f"Subject: {subject_header(subject)}\r\n"
        f"Date: {date}\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {cte}\r\n"
        "Auto-Submitted: auto-generated\r\n"
        "\r\n"
    )
    return head.encode("utf-8") + payload


def header_block(data: bytes) -> bytes:
    """The header block of a message's bytes: up to the blank line, CRLF-ended
    (``queue show --headers`` and the console's Headers tab)."""
    return data.split(b"\r\n\r\n", 1)[0] + b"\r\n"
