"""The Audit log (`L` on Mail Settings, for "ledger"): who changed which
setting, when and from where; newest first, read-only."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from sqlalchemy.engine import Engine
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ertui import audit
from ertui.store.models import AuditEntry
from ertui.termsafe import terminal_safe
from ertui.tui import timefmt
from ertui.tui.failures import FAILURES, sentence
from ertui.tui.reads import Reads
from ertui.tui.widgets.queue_format import one_line
from ertui.tui.widgets.teardown import ConsoleHeader

SHOWN = 500  # the newest entries; `ertui audit` has them all
COLUMNS = (("at", "When"), ("user", "User"), ("front_end", "From"), ("action", "Action"), ("detail", "Change"))


class AuditLoaded(Message):
    def __init__(self, entries: list[AuditEntry], error: str | None) -> None:
        super().__init__()
        self.entries = entries
        self.error = error


def entry_cells(e: AuditEntry) -> tuple[Text, ...]:
    who = e.os_user + (f"@{e.ssh_client}" if e.ssh_client else "")
    return (
        Text(timefmt.clock(e.at)),
        Text(terminal_safe(one_line(who, 32))),
        Text(e.front_end),
        Text(terminal_safe(e.action)),
        Text(terminal_safe(one_line(e.detail, 200))),
    )


class AuditScreen(Screen[None]):
    TITLE = "Audit Log"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "app.help", "Help", id="audit.help", tooltip="List every key of this screen"),
        Binding("escape", "back", "Back", id="audit.back", tooltip="Back to Mail Settings"),
        Binding("r", "reload", "Refresh", id="audit.reload", tooltip="Read the audit log again"),
    ]

    def __init__(self, engine: Engine) -> None:
        super().__init__(id="audit-screen")
        self.engine = engine
        self._reads: Reads[int] = Reads(self._load, lambda: 0, self.call_later)

    def compose(self) -> ComposeResult:
        yield ConsoleHeader()
        table: DataTable[Text] = DataTable(id="audit-table", cursor_type="row")
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static(Text("Loading…", style="dim"), id="audit-note")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#audit-table", DataTable).focus()
        self.action_reload()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self._reads.ask()  # one read at a time: an older one never lands after a newer one

    @work(thread=True, group="audit-load")
    def _load(self, _key: int = 0) -> None:
        try:
            self.post_message(AuditLoaded(audit.entries(self.engine, limit=SHOWN), None))
        except FAILURES as exc:
            self.post_message(AuditLoaded([], sentence(exc)))

    @on(AuditLoaded)
    def _loaded(self, event: AuditLoaded) -> None:
        self._reads.done(0)
        note = self.query_one("#audit-note", Static)
        if event.error is not None:
            note.update(Text(event.error, style="bold red"))
            note.display = True
            return
        table = self.query_one("#audit-table", DataTable)
        # the log only grows at the top: add what is new, keep the cursor on its row
        known = {str(k.value) for k in table.rows}
        fresh = [e for e in event.entries if str(e.id) not in known]
        if fresh and known:
            row = table.cursor_row
            table.clear()
            for e in event.entries:
                table.add_row(*entry_cells(e), key=str(e.id))
            table.move_cursor(row=row + len(fresh))
        elif fresh:
            for e in event.entries:
                table.add_row(*entry_cells(e), key=str(e.id))
        note.update(Text("No settings change recorded yet.", style="dim"))
        note.display = not event.entries
