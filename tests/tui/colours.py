"""What a 16-colour terminal (TERM=xterm) shows: every colour of a frame
downgraded to the 16 standard ones, for tests and snapshots of the focus."""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Any

from rich.color import Color as RichColor
from rich.color import ColorSystem
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.app import App
from textual.color import Color
from textual.filter import LineFilter


def downgraded(color: RichColor | None, system: ColorSystem = ColorSystem.STANDARD) -> RichColor | None:
    """``color`` as a terminal of ``system`` shows it, back as a true colour."""
    if color is None or color.is_default:
        return color
    return RichColor.from_triplet(color.downgrade(system).get_truecolor())


@lru_cache(1024)
def sixteen(style: Style) -> Style:
    return style + Style.from_color(downgraded(style.color), downgraded(style.bgcolor))


class SixteenColours(LineFilter):
    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [Segment(text, sixteen(style) if style else style, control) for text, style, control in segments]


def export_in_sixteen_colours(app: App[Any], *, title: str | None = None, simplify: bool = False) -> str:
    """``app.export_screenshot`` as a 16-colour terminal would show the screen."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    console._record_buffer[:] = SixteenColours().apply(list(console._record_buffer), Color(0, 0, 0))
    return console.export_svg(title=title or app.title)
