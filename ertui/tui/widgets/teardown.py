"""Textual widgets that survive their screen going away while they mount.

Keys typed ahead (Esc right after a key that opens a screen or dialog, over
SSH or in a demo) can dismiss a screen while its widgets are still mounting.
Some of Textual's widgets then look for their own children after those are
gone, and the ``NoMatches`` ends the console: Select's mount handler (its
overlay, its shown value) and Header's title watcher. These subclasses ignore
exactly that lookup failing; every screen and dialog uses them instead."""

from __future__ import annotations

import contextlib

from textual import events
from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.widgets import Header, Select
from textual.widgets._header import HeaderTitle


class FormSelect(Select[str]):
    """A ``Select`` whose mount sets nothing when its own children are gone
    (its dialog dismissed meanwhile: seen under load both with the removal
    already flagged and before it was)."""

    def _on_mount(self, event: events.Mount) -> None:
        with contextlib.suppress(NoMatches):
            super()._on_mount(event)


class ConsoleHeader(Header):
    """Textual's ``Header``, whose title update does nothing once its screen's
    widgets are gone."""

    def _on_mount(self, _: events.Mount) -> None:
        async def set_title() -> None:
            with contextlib.suppress(NoScreen, NoMatches):
                self.query_one(HeaderTitle).update(self.format_title())

        self.watch(self.app, "title", set_title)
        self.watch(self.app, "sub_title", set_title)
        self.watch(self.screen, "title", set_title)
        self.watch(self.screen, "sub_title", set_title)
