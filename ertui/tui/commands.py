"""The command palette (ctrl+p or `:`): every action of the current screen by name."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen
from textual.types import IgnoreReturnCallbackType

from ertui.tui.literal import literal

SKIP_ACTIONS = frozenset({"command_palette", "help_quit"})
# moving the focus is a key, not an action anyone looks up by name: help lists it, the palette not
FOCUS_MOVES = frozenset({"app.focus_next", "app.focus_previous", "next_field"})


@dataclass(frozen=True)
class ScreenCommand:
    name: str
    help: str
    run: IgnoreReturnCallbackType


def screen_commands(screen: Screen[Any]) -> list[ScreenCommand]:
    """One command per action of ours (a binding with an id) active on ``screen``."""
    app = screen.app
    by_action: dict[str, ScreenCommand] = {}
    keys: dict[str, list[str]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.id is None or not binding.description or binding.action in SKIP_ACTIONS | FOCUS_MOVES:
            continue
        keys.setdefault(binding.action, []).append(app.get_key_display(binding))
        if binding.action in by_action:
            continue
        by_action[binding.action] = ScreenCommand(
            name=binding.description,
            help=binding.tooltip,
            run=partial(app.run_action, binding.action, active.node),
        )
    # The palette renders help as markup: escape it (a key such as "/" would read "[/]").
    return [
        ScreenCommand(cmd.name, literal(f"{cmd.help} — key {' or '.join(keys[action])}"), cmd.run)
        for action, cmd in by_action.items()
    ]


class ErtuiCommands(Provider):
    """The actions of the screen the palette was opened on."""

    async def discover(self) -> Hits:
        for command in screen_commands(self.screen):
            yield DiscoveryHit(command.name, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in screen_commands(self.screen):
            score = matcher.match(f"{command.name} {command.help}")
            if score > 0:
                yield Hit(score, matcher.highlight(command.name), command.run, text=command.name, help=command.help)
