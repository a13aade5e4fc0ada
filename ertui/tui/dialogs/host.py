"""Edit Host: the Master Server Host Name for Email Links, with the link it makes."""

from __future__ import annotations

from rich.text import Text
from sqlalchemy.engine import Engine
from textual.app import ComposeResult
from textual.widgets import Static

from ertui import settings, validate
from ertui.tui.core import reset_link_preview
from ertui.tui.dialogs.base import OneFieldDialog


class HostDialog(OneFieldDialog):
    """Dismisses with the saved name, or None when cancelled. Enter confirms."""

    BOX_ID = "host-box"
    BOX_TITLE = "Edit Host"
    FIELD_ID = "host-input"
    LABEL = "Host name"
    PLACEHOLDER = "mail.example.com"
    MAX_LENGTH = validate.MAX_HOST_LEN

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.current = settings.master_host(engine)

    def hint(self) -> Text:
        return Text("Enter the fully qualified domain name of the Master Server; password-recovery links point at it.")

    def initial(self) -> str:
        return self.current.name

    def extra(self) -> ComposeResult:
        yield Static(id="host-preview")

    def on_mount(self) -> None:
        super().on_mount()
        self.changed(self.current.name)

    def changed(self, value: str) -> None:
        """Check as the operator types and show the link the name makes."""
        problem = validate.fqdn_problem(value)
        self.error.show(problem)
        name = value.strip().rstrip(".").lower() or "…"
        line = Text("Recovery link: ", style="bold")
        line.append(reset_link_preview(name), style="dim" if problem else "underline")
        self.query_one("#host-preview", Static).update(line)

    def save(self, value: str) -> str:
        return settings.set_master_host(self.engine, value)
