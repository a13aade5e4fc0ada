"""The column layout of the console's tables: fixed columns keep their width,
flexible ones share the room left, and some hide when the table is narrow.

Widths count what a cell shows; each column adds 2 cells of padding and the
table 2 more (its scrollbar), as Textual's ``DataTable`` draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int | None = None  # fixed, or None: a share of the room the fixed ones leave
    share: int = 0
    min_width: int = 0
    max_width: int = 0  # 0: no cap; else also where the text is cut (the column adds "…" when narrower)
    hide_below: int = 0  # hidden when the table is narrower than this

    def capped(self, width: int) -> int:
        return min(self.max_width, width) if self.max_width else width


def visible(columns: Sequence[Column], total: int) -> tuple[Column, ...]:
    """The columns shown in a table ``total`` cells wide."""
    return tuple(c for c in columns if total >= c.hide_below)


def widths(columns: Sequence[Column], total: int, *, spill: str | None = None) -> dict[str, int]:
    """The width of each of ``columns`` (the ones shown) in ``total`` cells: the fixed
    ones first, the flexible ones share what is left (at least their minimum, at most
    their cap); what the caps leave goes to the ``spill`` column, up to its cap."""
    padding = 2 * len(columns) + 2
    room = total - padding - sum(c.width for c in columns if c.width is not None)
    shares = sum(c.share for c in columns if c.width is None) or 1
    out = {
        c.key: c.width if c.width is not None else c.capped(max(c.min_width, room * c.share // shares)) for c in columns
    }
    left = total - padding - sum(out.values())
    if spill is not None and spill in out and left > 0:
        column = next(c for c in columns if c.key == spill)
        out[spill] = column.capped(out[spill] + left)
    return out
