"""Sender (was Update Administrator Account): the address every email is sent
from, its From display name and an optional Reply-To address."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from sqlalchemy.engine import Engine
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Input, Static

from ertui import settings
from ertui.tui.dialogs.base import FieldsDialog
from ertui.tui.safe import safe_str
from ertui.tui.widgets.form_rows import FieldError, form_row

# The core's field key (ValidationError.key) -> the Input that holds it.
FIELD_IDS = {"admin_email": "admin-email", "from_name": "from-name", "reply_to": "reply-to"}


class AdminDialog(FieldsDialog):
    """Dismisses with a sentence saying what the sender now is, or None when
    cancelled. Enter in any field confirms."""

    AUTO_FOCUS = "#admin-email"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Ok", id="sender_ok", priority=True, tooltip="Check and save (Enter does too)"),
        Binding("escape", "cancel", "Cancel", id="sender_cancel", tooltip="Close without saving"),
    ]

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.user = settings.admin_user(engine)
        self.from_name, self.reply_to = settings.sender_identity(engine)

    def compose(self) -> ComposeResult:
        with Vertical(id="admin-box", classes="dialog short-form") as box:
            box.border_title = "Sender"
            yield Static(
                Text(
                    f"Account: {self.user.username} (the default administrator)\n"
                    "Every email, tests included, is sent from this address, with the From name "
                    "(empty: the bare address) and the Reply-To address (optional)."
                ),
                classes="dialog-hint",
            )
            yield form_row("Email address", self._input(self.user.email or "", "admin-email", "admin@example.com"))
            yield FieldError("admin-email")
            yield form_row(
                "From name", self._input(self.from_name, "from-name", "e.g. Example Ops", settings.MAX_FROM_NAME)
            )
            yield FieldError("from-name")
            yield form_row("Reply-To", self._input(self.reply_to or "", "reply-to", "optional"))
            yield FieldError("reply-to")
            yield Static(id="sender-preview")
            yield self.buttons()
        yield Footer()

    @staticmethod
    def _input(value: str, field_id: str, placeholder: str, most: int = 254) -> Input:
        return Input(value, id=field_id, compact=True, placeholder=placeholder, max_length=most)

    def _value(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", Input).value

    def on_mount(self) -> None:
        self._preview()

    @on(Input.Changed)
    def _changed(self) -> None:  # (FieldsDialog clears the field's error)
        self._preview()

    def _preview(self) -> None:
        """The headers as a recipient's mail program shows them (not encoded)."""
        address = self._value("admin-email").strip() or "…"
        name = self._value("from-name").strip(" ")
        line = Text("From: ", style="bold")
        line.append(safe_str(f"{name} <{address}>" if name else address))
        reply = self._value("reply-to").strip()
        if reply:
            line.append("   Reply-To: ", style="bold")
            line.append(safe_str(reply))
        self.query_one("#sender-preview", Static).update(line)

    def action_save(self) -> None:
        saved = self.saving(
            lambda: settings.set_sender(
                self.engine, self._value("admin-email"), self._value("from-name"), self._value("reply-to")
            ),
            lambda key: FIELD_IDS.get(key, "admin-email"),
        )
        if saved is None:
            return
        reply_to = f"; Reply-To {saved.reply_to}" if saved.reply_to else ""
        shown = f"{saved.name} <{saved.address}>" if saved.name else saved.address
        self.dismiss(f"Sender set to {shown}{reply_to}.")
