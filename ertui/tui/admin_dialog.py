"""Update Administrator Account: the address every email is sent from."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from sqlalchemy.engine import Engine
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Static

from ertui import settings
from ertui.errors import ValidationError
from ertui.tui.dialog import Dialog
from ertui.tui.failures import FAILURES, sentence
from ertui.tui.form_rows import FieldError


class AdminDialog(Dialog[str | None]):
    """Dismisses with the saved address, or None when cancelled. Enter confirms."""

    AUTO_FOCUS = "#admin-email"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Ok", id="admin_ok", priority=True,
                tooltip="Save the address (Enter does too)"),
        Binding("escape", "cancel", "Cancel", id="admin_cancel", tooltip="Close without saving"),
    ]

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.user = settings.admin_user(engine)

    def compose(self) -> ComposeResult:
        with Vertical(id="admin-box", classes="dialog") as box:
            box.border_title = "Update Administrator Account"
            yield Static(Text(f"Account: {self.user.username} (the default administrator)\n"
                              "Every email, tests included, is sent from this address."),
                         classes="dialog-hint")
            yield Input(self.user.email or "", id="admin-email", compact=True,
                        placeholder="admin@example.com")
            yield FieldError("admin-email")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Ok", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")
        yield Footer()

    @on(Input.Submitted, "#admin-email")
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()

    @on(Input.Changed, "#admin-email")
    def _changed(self) -> None:
        self.query_one("#admin-email-error", FieldError).show(None)

    def action_save(self) -> None:
        try:
            address = settings.set_admin_email(
                self.engine, self.query_one("#admin-email", Input).value)
        except ValidationError as exc:
            self.query_one("#admin-email-error", FieldError).show(exc.message)
            return
        except FAILURES as exc:
            self.notify(sentence(exc), severity="error", markup=False)
            return
        self.dismiss(address)

    def action_cancel(self) -> None:
        self.dismiss(None)
