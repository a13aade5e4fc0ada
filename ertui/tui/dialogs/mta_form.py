"""Add New MTA / Edit MTA: the web console's fields in its order, validated by the core."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from sqlalchemy.engine import Engine
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, Collapsible, Footer, Input, Label, Select, Static, Switch

from ertui import mtas, settings, validate
from ertui.errors import Field, ValidationError
from ertui.mta_rules import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_PORTS,
    AuthMechanism,
    Security,
    port_for_mode,
    security_from_flags,
)
from ertui.smtp.outcome import MtaConfig
from ertui.store.models import Mta
from ertui.tui.dialogs import mta_advanced as advanced
from ertui.tui.dialogs.base import FormDialog
from ertui.tui.dialogs.confirm import ConfirmDialog
from ertui.tui.dialogs.test_dialog import TestDialog
from ertui.tui.failures import FAILURES, sentence
from ertui.tui.lifecycle import gone
from ertui.tui.widgets.form_rows import FieldError, form_row, switch_state

# The core names a field in ValidationError.field; this is where it is on the form.
FIELD_IDS = {
    "Description": "description",
    "Host Name": "host",
    "Host Port": "port",
    "Security": "starttls",
    "Username": "username",
    "Password": "password",
    "Max. Concurrent Connections": "max",
    **advanced.FIELD_IDS,
}

STORED_PASSWORD_HINT = "●●●●●●●● stored; leave empty to keep it"
CLEAR_TEXT_WARNING = "⚠ Neither SSL nor STARTTLS is on: the username and password would go to the server in clear text."

# The most characters each field takes (the core's rules): more are refused as typed.
MAX_LENGTHS = {
    "description": 100,
    "host": validate.MAX_HOST_LEN,
    "port": 5,
    "max": 3,
    "username": 255,
    "password": 1024,
}
DIGITS_ONLY = r"[0-9]*"
# Enter saves in the last text field and on the last switch
LAST_FIELDS = frozenset({"max", "verify_tls"})


def _required(field: Field, check: Callable[[str], object]) -> Callable[[str], object]:
    """``check``, after saying "is required" for an empty field."""

    def run(value: str) -> object:
        if not value.strip():
            raise ValidationError(field, f"{field.label} is required.")
        return check(value)

    return run


def _or_default(check: Callable[[str], object]) -> Callable[[str], object]:
    """``check`` for a field whose empty value takes its default (Port, Max.)."""
    return lambda value: check(value) if value.strip() else None


CHECKS: dict[str, Callable[[str], object]] = {
    "description": _required(validate.DESCRIPTION, validate.description),
    "host": validate.host,
    "port": _or_default(validate.port),
    "max": _or_default(validate.max_connections),
    "username": _required(validate.USERNAME, validate.username),
}


class MtaForm(FormDialog):
    """Dismisses with a sentence saying what was saved, or None when cancelled."""

    AUTO_FOCUS = "#description"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+t", "test", "Test", id="form_test", priority=True, tooltip="Test the values in the form, saved or not"
        ),
        Binding("ctrl+s", "save", "Ok", id="form_ok", priority=True, tooltip="Check and save the MTA"),
        Binding("escape", "cancel", "Cancel", id="form_cancel", tooltip="Close without saving"),
        # a priority binding, like Tab (see Dialog): keys typed ahead follow the focus
        Binding(
            "enter",
            "next_field",
            "Next field",
            show=False,
            priority=True,
            id="form_enter",
            tooltip="In a field: go to the next one (Ok in the last)",
        ),
    ]

    def __init__(self, engine: Engine, mta: Mta | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.mta = mta
        self._initial: tuple[object, ...] = ()

    def compose(self) -> ComposeResult:
        m = self.mta
        security = Security(m.security) if m else Security.NONE
        with Vertical(id="form-box", classes="dialog") as box:
            box.border_title = "Edit MTA" if m else "Add New MTA"
            with VerticalScroll(id="form-body"):
                yield form_row(
                    "Description",
                    self._input(m.description if m else "", "description", placeholder="e.g. Relay"),
                )
                yield FieldError("description")
                yield form_row("Host Name", self._input(m.host if m else "", "host", placeholder="e.g. smtp.gmail.com"))
                yield FieldError("host")
                port = str(m.port) if m else str(DEFAULT_PORTS[Security.NONE])
                yield form_row("Host Port", self._input(port, "port", restrict=DIGITS_ONLY))
                yield FieldError("port")
                yield form_row("Enable SSL", Switch(security == Security.SSL, id="ssl"))
                yield form_row("Enable STARTTLS", Switch(security == Security.STARTTLS, id="starttls"))
                yield FieldError("starttls")
                yield form_row("Use User/Pass Authorization", Switch(bool(m and m.use_auth), id="use_auth"))
                with Vertical(id="auth-fields"):
                    yield form_row("Username", self._input((m.username or "") if m else "", "username"))
                    yield FieldError("username")
                    stored = bool(m and m.password_enc)
                    yield form_row(
                        "Password",
                        self._input("", "password", password=True, placeholder=STORED_PASSWORD_HINT if stored else ""),
                        row_id="password-row",
                    )
                    yield FieldError("password")
                    yield Static(Text(CLEAR_TEXT_WARNING), id="auth-warning", classes="field-warning")
                max_conn = str(m.max_connections) if m else str(DEFAULT_MAX_CONNECTIONS)
                yield form_row("Max. Concurrent Connections", self._input(max_conn, "max", restrict=DIGITS_ONLY))
                yield FieldError("max")
                yield form_row("Verify TLS certificate", Switch(m.verify_tls if m else True, id="verify_tls"))
                yield form_row("Enabled", Switch(m.enabled if m else True, id="enabled"))
                yield from advanced.compose_advanced(m, settings.helo_name(self.engine))
            yield self.buttons(Button("Test", id="test"))
        yield Footer()

    @staticmethod
    def _input(
        value: str, field_id: str, *, placeholder: str = "", password: bool = False, restrict: str | None = None
    ) -> Input:
        return Input(
            value,
            compact=True,
            id=field_id,
            placeholder=placeholder,
            password=password,
            restrict=restrict,
            max_length=MAX_LENGTHS[field_id],
        )

    def on_mount(self) -> None:
        if gone(self):
            return
        self._show_auth(self.query_one("#use_auth", Switch).value)
        self._initial = self._values()

    def _values(self) -> tuple[object, ...]:
        """Everything the operator can change, to tell whether anything was."""
        fields = (*self.query(Input), *self.query(Switch), *self.query(Select))
        return tuple(w.value for w in fields)

    def changed(self) -> bool:
        return self._values() != self._initial

    @on(Switch.Changed)
    def _sync_switch_states(self) -> None:
        """Each switch says "on" or "off" next to it (also after one turned another off)."""
        for switch in self.query(Switch):
            self.query_one(f"#{switch.id}-state", Label).update(switch_state(switch.value))

    # -- reading the form --------------------------------------------------
    def _text(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", Input).value

    def _switch(self, field_id: str) -> bool:
        return self.query_one(f"#{field_id}", Switch).value

    def _error(self, field_id: str) -> FieldError:
        return self.query_one(f"#{field_id}-error", FieldError)

    def _show_auth(self, on: bool) -> None:
        self.query_one("#auth-fields").display = on
        oauth = advanced.mechanism_of(self) == AuthMechanism.XOAUTH2
        for fields in self.query("#oauth-fields"):  # (not there while the form is torn down)
            fields.display = on and oauth  # instead of the password
        self.query_one("#password-row").display = not oauth
        if oauth:
            self._error("password").show(None)
        self._show_clear_text_warning()

    @on(Select.Changed, "#auth_mechanism")
    def _mechanism_chosen(self) -> None:
        self._show_auth(self._switch("use_auth"))

    def _show_clear_text_warning(self) -> None:
        """AUTH with neither SSL nor STARTTLS sends the password in clear: say so."""
        self.query_one("#auth-warning").display = self._switch("use_auth") and self._security() == Security.NONE

    def _security(self) -> Security:
        return security_from_flags(self._switch("ssl"), self._switch("starttls"))

    def check_field(self, field_id: str) -> bool:
        """Run the core's check on one field; show its sentence under it."""
        check = CHECKS.get(field_id) or advanced.CHECKS.get(field_id)
        if check is None:
            return True
        try:
            check(self._text(field_id))
        except ValidationError as exc:
            self._error(field_id).show(exc.message)
            return False
        self._error(field_id).show(None)
        return True

    def check_all(self) -> bool:
        fields = ["description", "host", "port", "max", *advanced.CHECKS]
        if self._switch("use_auth"):
            fields.append("username")
        bad = [f for f in fields if not self.check_field(f)]
        if bad:  # the cursor goes where the first fix is to be typed
            self._focus_field(bad[0])
        return not bad

    def _focus_field(self, field_id: str) -> None:
        """Focus a field, opening the Advanced section first when it is there."""
        if field_id in advanced.FIELD_IDS.values():
            self.query_one("#advanced", Collapsible).collapsed = False
        self.query_one(f"#{field_id}").focus()

    # -- live behaviour ------------------------------------------------------
    @on(Input.Blurred)
    def _blurred(self, event: Input.Blurred) -> None:
        field_id = event.input.id or ""
        checked = field_id in CHECKS or field_id in advanced.CHECKS
        if checked and (event.value.strip() or self._error(field_id).message):
            self.check_field(field_id)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        field_id = event.input.id or ""
        if (field_id in CHECKS or field_id in advanced.CHECKS) and self._error(field_id).message:
            self.check_field(field_id)

    def action_next_field(self) -> None:
        focused = self.focused
        if focused is not None and focused.id in LAST_FIELDS:
            self.action_save()  # Enter on the last field saves, as in Edit Host and Test
        elif isinstance(focused, Input):
            self.focus_next()
        else:
            raise SkipAction()  # a switch toggles, a button presses

    def action_cancel(self) -> None:
        """Esc: close; when something was typed or switched, ask first."""
        if not self.changed():
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        question = "Discard changes? What you typed in this form is lost."
        self.app.push_screen(ConfirmDialog(question, title="Discard changes?", yes="Discard"), answered)

    @on(Switch.Changed, "#ssl, #starttls")
    def _security_switched(self, event: Switch.Changed) -> None:
        other = "#starttls" if event.switch.id == "ssl" else "#ssl"
        if event.value:
            with self.prevent(Switch.Changed):
                self.query_one(other, Switch).value = False
            self._sync_switch_states()  # the other one's "on" must go too
        self._error("starttls").show(None)
        self._show_clear_text_warning()
        port = self.query_one("#port", Input)
        text = port.value.strip()
        number = validate.digits(text)  # the core's digit rule: "²" is not a digit
        if text and number is None:
            return  # not a port yet: leave the operator's text alone
        new_port = port_for_mode(number, self._security())
        port.value = str(new_port)
        self._error("port").show(None)

    @on(Switch.Changed, "#use_auth")
    def _auth_switched(self, event: Switch.Changed) -> None:
        # The focus stays on the switch (Tab goes on to Username, then Password):
        # moving it unseen sent typed passwords into the next visible field.
        self._show_auth(event.value)

    # -- buttons and keys ------------------------------------------------------
    @on(Button.Pressed, "#test")
    def _test(self) -> None:
        self.action_test()

    def _core_error(self, exc: Exception) -> None:
        field_id = FIELD_IDS.get(getattr(exc, "field", ""), "")
        if field_id:
            self._error(field_id).show(sentence(exc))
            self._focus_field(field_id)
        else:
            self.notify(sentence(exc), severity="error", timeout=10, markup=False)

    def _draft(self) -> MtaConfig:
        """The connection in the form, checked by the core (``mtas.draft_config``):
        an empty port follows the mode, a password left empty is the stored one."""
        auth = self._switch("use_auth")
        return mtas.draft_config(
            self.mta,
            host=self._text("host"),
            port=self._text("port").strip() or None,
            security=self._security(),
            use_auth=auth,
            username=self._text("username") if auth else None,
            password=self._text("password") if auth else None,
            verify_tls=self._switch("verify_tls"),
            description=self._text("description"),
            **advanced.values(self),
        )

    def _max_connections(self) -> str | int:
        """The field's text; empty takes the default, as an empty Host Port does."""
        return self._text("max").strip() or DEFAULT_MAX_CONNECTIONS

    def action_save(self) -> None:
        if not self.check_all():
            return
        try:
            draft = self._draft()
            if self.mta is None:
                saved = mtas.add(
                    self.engine,
                    description=self._text("description"),
                    host=draft.host,
                    port=draft.port,
                    security=draft.security,
                    username=draft.username,
                    password=draft.password,
                    max_connections=self._max_connections(),
                    verify_tls=draft.verify_tls,
                    enabled=self._switch("enabled"),
                    rate_limit=advanced.rate_limit(self),
                    **advanced.values(self),
                )
                done = f"MTA {saved.description!r} added."
            else:
                assert self.mta.id is not None
                saved = mtas.edit(
                    self.engine,
                    self.mta.id,
                    description=self._text("description"),
                    host=draft.host,
                    port=draft.port,
                    security=draft.security,
                    use_auth=draft.use_auth,
                    username=draft.username,
                    password=draft.password and (self._text("password") or None),  # empty: the stored one
                    max_connections=self._max_connections(),
                    verify_tls=draft.verify_tls,
                    enabled=self._switch("enabled"),
                    rate_limit=advanced.rate_limit(self),
                    **advanced.values(self),
                )
                done = f"MTA {saved.description!r} saved."
        except FAILURES as exc:
            self._core_error(exc)
            return
        self.dismiss(done)

    def action_test(self) -> None:
        """Test what is in the form now, saved or not."""
        fields_ok = all([self.check_field("host"), self.check_field("port")])
        if self._switch("use_auth"):
            fields_ok = self.check_field("username") and fields_ok
        if not fields_ok:
            return
        try:
            draft = self._draft()
        except FAILURES as exc:
            self._core_error(exc)
            return
        self.app.push_screen(TestDialog(self.engine, draft))
