"""Textual widgets that survive being torn down while they mount.

Keys typed ahead (Esc right after a key that opens a screen or dialog, over
SSH or in a demo) can dismiss a screen while its widgets are still mounting.
Some of Textual's widgets then look for their own children after those are
gone, and the ``NoMatches`` ends the console: Select's mount handler (setting
its shown value) and Header's title watcher. These subclasses ignore exactly
that case; every screen and dialog uses them instead."""

from __future__ import annotations

from textual import events
from textual.css.query import NoMatches
from textual.dom import DOMNode, NoScreen
from textual.widgets import Header, Select
from textual.widgets._header import HeaderTitle


def torn_down(node: DOMNode | None) -> bool:
    """Whether ``node`` or a parent of it is being removed (a screen dismissed)."""
    while node is not None:
        if node._closing or node._closed or node._pruning:
            return True
        parent = node._parent
        node = parent if isinstance(parent, DOMNode) else None
    return False


class FormSelect(Select[str]):
    """A ``Select`` whose mount, when its dialog is dismissed meanwhile, sets nothing."""

    def _on_mount(self, event: events.Mount) -> None:
        try:
            super()._on_mount(event)
        except NoMatches:
            if not (torn_down(self) or not self.is_attached):
                raise


class ConsoleHeader(Header):
    """Textual's ``Header``, whose title update, when its screen is gone meanwhile, updates nothing."""

    def _on_mount(self, _: events.Mount) -> None:
        async def set_title() -> None:
            try:
                self.query_one(HeaderTitle).update(self.format_title())
            except NoScreen:
                pass
            except NoMatches:
                if not (torn_down(self) or not self.is_attached):
                    raise

        self.watch(self.app, "title", set_title)
        self.watch(self.app, "sub_title", set_title)
        self.watch(self.screen, "title", set_title)
        self.watch(self.screen, "sub_title", set_title)
