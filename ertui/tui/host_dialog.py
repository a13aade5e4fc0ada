"""Edit Host: the Master Server Host Name for Email Links, with the link it makes."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from sqlalchemy.engine import Engine
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Static

from ertui import settings, validate
from ertui.errors import ValidationError
from ertui.tui.backend import reset_link_preview
from ertui.tui.dialog import Dialog
from ertui.tui.failures import FAILURES, sentence
from ertui.tui.form_rows import FieldError


class HostDialog(Dialog[str | None]):
    """Dismisses with the saved name, or None when cancelled. Enter confirms."""

    AUTO_FOCUS = "#host-input"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Ok", id="host_ok", priority=True,
                tooltip="Save the host name (Enter does too)"),
        Binding("escape", "cancel", "Cancel", id="host_cancel", tooltip="Close without saving"),
    ]

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.current = settings.master_host(engine)

    def compose(self) -> ComposeResult:
        with Vertical(id="host-box", classes="dialog") as box:
            box.border_title = "Edit Host"
            yield Static(Text("Enter the fully qualified domain name of the Master Server; "
                              "password-recovery links point at it."), classes="dialog-hint")
            yield Input(self.current.name, id="host-input", compact=True,
                        placeholder="mail.example.com")
            yield FieldError("host-input")
            yield Static(id="host-preview")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Ok", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self._preview(self.current.name)

    def _preview(self, value: str) -> None:
        problem = validate.fqdn_problem(value)
        self.query_one("#host-input-error", FieldError).show(problem)
        name = value.strip().rstrip(".").lower() or "…"
        line = Text("Recovery link: ", style="bold")
        line.append(reset_link_preview(name), style="dim" if problem else "underline")
        self.query_one("#host-preview", Static).update(line)

    @on(Input.Changed, "#host-input")
    def _changed(self, event: Input.Changed) -> None:
        self._preview(event.value)

    @on(Input.Submitted, "#host-input")
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()

    def action_save(self) -> None:
        try:
            name = settings.set_master_host(self.engine, self.query_one("#host-input", Input).value)
        except ValidationError as exc:
            self.query_one("#host-input-error", FieldError).show(exc.message)
            return
        except FAILURES as exc:
            self.notify(sentence(exc), severity="error", markup=False)
            return
        self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)
