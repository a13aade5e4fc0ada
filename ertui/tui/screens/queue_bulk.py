"""The Mail Queue's actions on every message its filter matches (R, H, D with
a filter applied): the count and the filter in a confirmation, then the core's
``queue_bulk.apply`` in a worker thread — the same function `ertui queue
retry|hold|delete --search …` runs."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine
from textual import work
from textual.screen import Screen

from ertui import queue_bulk
from ertui.tui.dialogs.confirm import ConfirmDialog
from ertui.tui.failures import FAILURES, sentence
from ertui.tui.screens.queue_actions import QueueActionDone
from ertui.tui.screens.queue_filter import ViewFilter

VERBS = {"retry": "Retry", "hold": "Hold", "delete": "Delete"}


def confirmation(engine: Engine, action: str, flt: queue_bulk.QueueFilter) -> ConfirmDialog | None:
    """The question to ask, with the count; None when nothing would change."""
    would = queue_bulk.apply(engine, action, flt, dry_run=True)
    if not would.changed:
        return None
    verb = VERBS[action]
    left = f" ({would.skipped} matching left alone: being sent, or not {action}able)" if would.skipped else ""
    question = f"{verb} {would.changed} message(s) matching {flt.describe()}?{left}"
    return ConfirmDialog(question, title=f"{verb} every matching message", yes=verb)


def run(engine: Engine, action: str, flt: queue_bulk.QueueFilter, post: Callable[[QueueActionDone], object]) -> None:
    """Apply (in a worker thread) and post how it went."""
    try:
        result = queue_bulk.apply(engine, action, flt)
    except FAILURES as exc:
        post(QueueActionDone(action, sentence(exc), severity="error"))
        return
    post(QueueActionDone(action, result.sentence(), severity="information" if result.changed else "warning"))


class BulkActions(Screen[None]):
    """What the Mail Queue adds for an incident: actions on everything its filter
    matches, and the Queue shape and Delivery log a key away."""

    engine: Engine
    view: ViewFilter

    def action_bulk(self, action: str) -> None:
        """R, H, D with a filter applied: every message it matches, after a confirmation."""
        try:
            flt = self.view.core() if self.view.active else None
            dialog = confirmation(self.engine, action, flt) if flt is not None else None
        except FAILURES as exc:
            self.notify(sentence(exc), severity="error", markup=False)
            return
        if flt is None or dialog is None:
            self.notify("Nothing the filter matches would change.", severity="warning", markup=False)
            return
        chosen = flt

        def answered(yes: bool | None) -> None:
            if yes:
                self._bulk(action, chosen)

        self.app.push_screen(dialog, answered)

    @work(thread=True, group="queue-action")
    def _bulk(self, action: str, flt: queue_bulk.QueueFilter) -> None:
        run(self.engine, action, flt, self.post_message)

    def filtered(self, view: ViewFilter) -> None:
        """Back from the Queue shape: this Mail Queue, filtered to the row chosen."""
        self.app.pop_screen()
        self.apply_filter(view)

    def apply_filter(self, view: ViewFilter) -> None:
        """Show the messages ``view`` names (the Mail Queue defines it)."""

    def action_open(self, which: str) -> None:
        if which == "shape":
            from ertui.tui.screens.shape import ShapeScreen

            self.app.push_screen(ShapeScreen(self.engine, self.filtered))
        else:
            from ertui.tui.screens.delivery_log import DeliveryLogScreen

            self.app.push_screen(DeliveryLogScreen(self.engine))
