"""Small Pilot helpers for the console tests."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, Static

from ertui.tui.widgets.mta_table import MtaTable


def static_text(app: App[Any], selector: str) -> str:
    widget = app.screen.query_one(selector, Static)
    return str(widget.render())


def table_rows(app: App[Any]) -> list[list[str]]:
    table = app.screen.query_one(MtaTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def type_into(pilot: Pilot[Any], selector: str, text: str) -> None:
    """Focus an Input, clear it and type ``text`` key by key."""
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    widget.value = ""
    await pilot.pause()
    await pilot.press(*list(text))
    await pilot.pause()


async def wait_for(pilot: Pilot[Any], condition: object, tries: int = 200) -> None:
    """Let the app run until ``condition()`` holds (bounded; fails the test otherwise)."""
    assert callable(condition)
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"condition never held: {condition}")
