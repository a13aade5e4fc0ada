"""The Mail Queue's filter: a status, and optionally a recipient domain, the MTA
last tried and a text — the core's ``queue_bulk.QueueFilter``, the one object
both the page the screen lists and its bulk actions (R, H, D) are read with, so
they always name the same messages.

Typed after ``/`` as words: ``domain:example.com``, ``mta:"Relay one"`` and
any other words as the text (receiver, subject or ``#id``).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace

from rich.text import Text

from ertui import queue_bulk
from ertui.termsafe import terminal_safe

PREFIXES = ("domain", "mta")


@dataclass(frozen=True)
class ViewFilter:
    """What the Mail Queue shows: ``status`` always, the rest when set."""

    status: str = "unsent"
    domain: str = ""
    mta: str = ""
    search: str = ""

    @property
    def active(self) -> bool:
        """A filter beyond the status is applied (R/H/D then act on all it matches)."""
        return bool(self.domain or self.mta or self.search)

    def core(self) -> queue_bulk.QueueFilter:
        """The core's filter (raises ValidationError for words it refuses)."""
        return queue_bulk.make_filter(
            status=self.status, domain=self.domain or None, mta=self.mta or None, search=self.search or None
        )

    def cleared(self) -> ViewFilter:
        return ViewFilter(status=self.status)

    def with_status(self, status: str) -> ViewFilter:
        return replace(self, status=status)

    def as_words(self) -> str:
        """The filter as it is typed after ``/`` (to edit it)."""
        words = [f"{key}:{shlex.quote(value)}" for key, value in (("domain", self.domain), ("mta", self.mta)) if value]
        if self.search:
            words.append(self.search)
        return " ".join(words)

    def line(self) -> Text:
        """'Filter: domain=example.com · mta=Relay · text "x" · … press Esc to clear'."""
        text = Text("Filter: ", style="bold", no_wrap=True, overflow="ellipsis")
        parts = [f"domain={self.domain}" if self.domain else "", f"mta={self.mta}" if self.mta else ""]
        parts.append(f'text "{self.search}"' if self.search else "")
        text.append(terminal_safe(" · ".join(p for p in parts if p)))
        text.append(" · R/H/D act on all of it · press Esc to clear", style="dim")
        return text


def parse(typed: str, status: str) -> ViewFilter:
    """The words typed after ``/`` as a filter; bad input raises ValidationError
    naming the part (checked by the core's ``make_filter``, as on the CLI)."""
    try:
        words = shlex.split(typed)
    except ValueError:  # an apostrophe in a name (o'brien@…): plain words then
        words = typed.split()
    found = {key: "" for key in PREFIXES}
    rest: list[str] = []
    for word in words:
        key, sep, value = word.partition(":")
        if sep and key.lower() in PREFIXES and value:
            found[key.lower()] = value
        else:
            rest.append(word)
    view = ViewFilter(status=status, domain=found["domain"], mta=found["mta"], search=" ".join(rest))
    core = view.core()  # refused now what the core would refuse at the first read
    return replace(view, domain=core.domain or "", mta=core.mta or "", search=core.search or "")
