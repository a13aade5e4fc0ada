"""Text from outside made safe for a terminal, where it is printed.

A server reply, a subject, a recipient, a description a script stored or an
exception's text may hold control characters: ESC sequences that clear the
screen or change the title, OSC 8 links, BEL, a carriage return that hides
what came before, bidirectional overrides that reorder what is shown. Every
front end passes such text through :func:`terminal_safe` at the point where it
is written to a terminal (the CLI's text output, the worker's log, the
console); ``--json`` keeps the exact text, which JSON escapes itself.

Control characters become visible escapes (``\\x1b``, ``\\x07``, ``\\u202e``),
so the operator still sees that they were there.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _unsafe(ch: str, keep_newlines: bool) -> bool:
    """Controls (C0, C1, DEL), format characters (bidirectional overrides,
    zero-width marks), line and paragraph separators, unassigned and private
    code points: whatever Python does not call printable, except a space."""
    if ch in "\n\t":
        return not keep_newlines
    return ch != " " and not ch.isprintable()


def terminal_safe(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as a visible escape.

    ``keep_newlines`` keeps line feeds and tabs (a message body, a
    transcript shown as lines); otherwise they are escaped too, so one value
    stays on one line of a table or a log.
    """
    if text.isascii() and text.isprintable():
        return text  # the common case, at C speed
    return "".join(_escape(ch) if _unsafe(ch, keep_newlines) else ch for ch in text)
