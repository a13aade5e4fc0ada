"""Outside text survives Textual markup exactly (textual.markup.escape misses [DC2])."""

from __future__ import annotations

import pytest
from textual.markup import to_content

from ertui.tui.literal import literal


@pytest.mark.parametrize(
    "text",
    [
        "Backup [DC2]",
        "[bold]Relay[/] [red]x",
        "550 [Errno 5] no [link=x]",
        "a \\[b] c",
        "trailing backslash \\",
        "[/]",
        "@[click=app.quit]",
    ],
)
def test_literal_renders_exactly_the_text(text: str) -> None:
    assert to_content(literal(text)).plain == text


async def test_detail_title_keeps_brackets(engine: object) -> None:
    from sqlalchemy.engine import Engine

    from ertui import mtas
    from ertui.tui.widgets.mta_detail import MtaDetail
    from tests.tui.conftest import make_app

    assert isinstance(engine, Engine)
    mtas.add(engine, description="Backup [DC2]", host="10.0.0.5", enabled=False)
    async with make_app(engine).run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        detail = pilot.app.screen.query_one(MtaDetail)
        # what the border draws (the public getter re-renders it as markup)
        assert detail._border_title is not None
        assert detail._border_title.plain == "▼ Backup [DC2] · Disabled"
