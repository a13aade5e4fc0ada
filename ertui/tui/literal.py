"""Text from outside (server replies, MTA descriptions) made safe for Textual markup.

``textual.markup.escape`` only escapes tags that start with a lower-case letter,
``#``, ``/`` or ``@``: ``"Backup [DC2]"`` passes through unescaped and the
markup parser swallows ``[DC2]``. ``literal`` escapes every opening bracket.
Where no markup is wanted at all, pass ``markup=False`` to ``notify`` instead.
"""

from __future__ import annotations


def literal(text: str) -> str:
    """``text`` as markup that renders exactly ``text`` (only a "[" can open a tag)."""
    return text.replace("[", "\\[")
