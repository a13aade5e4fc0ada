"""Small Pilot helpers for the console tests."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

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


async def wait_for(pilot: Pilot[Any], condition: object, tries: int = 200, why: object = None) -> None:
    """Let the app run until ``condition()`` holds (bounded; fails the test otherwise).

    ``why``, when given, is called on failure to say what the app showed instead.
    """
    assert callable(condition)
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    seen = why() if callable(why) else ""
    raise AssertionError(f"condition never held: {condition} {seen}")


def palette_matches(app: App[Any]) -> list[str]:
    """The command palette's matches as shown, best first ([] while it searches)."""
    options = app.screen.query_one("CommandList", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def palette_choose(pilot: Pilot[Any], opener: str, query: str, wanted: str) -> None:
    """Open the palette with ``opener``, type ``query`` and run its first match.

    Waits for each step the palette takes on its own (its input focused, every
    key in it, the search finished with ``wanted`` first), so a loaded machine
    only makes it slower, never loses a key typed before the input had focus.
    """
    from textual.command import CommandInput, CommandPalette

    await pilot.press(opener)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    await wait_for(pilot, lambda: isinstance(pilot.app.focused, CommandInput))
    await pilot.press(*query)

    def typed() -> str:
        return pilot.app.screen.query_one(CommandInput).value

    def shown() -> str:
        return f"typed={typed()!r} matches={palette_matches(pilot.app)[:3]!r}"

    await wait_for(pilot, lambda: typed() == query, why=shown)

    def searching() -> bool:  # the palette's search of what was typed is still running
        group = CommandPalette._GATHER_COMMANDS_GROUP
        return any(w.group == group and w.is_running for w in pilot.app.workers)

    # Read the matches of the whole query only: while it is typed, each key starts
    # a new search and the list still shows an earlier one's (a prefix's) matches.
    await pilot.pause()
    await wait_for(pilot, lambda: not searching(), tries=500, why=shown)
    await pilot.pause()
    first = (palette_matches(pilot.app) or [""])[0]
    assert wanted in first, shown()
    await pilot.press("enter")
