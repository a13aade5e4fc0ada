"""Delivery policy (`P` on Mail Settings): retry delays, message lifetime,
attempts and the MTA cooldown, kept in the store (``ertui.delivery_policy``)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from sqlalchemy.engine import Engine
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Input, Label, Static

from ertui import delivery_policy as dp
from ertui.tui.dialogs.base import FieldsDialog
from ertui.tui.safe import safe_str
from ertui.tui.widgets.form_rows import FieldError, FormRow

# after "default <value>" next to the field
NOTES = {
    dp.MAX_ATTEMPTS.name: " = until the lifetime ends",
    dp.LIFETIME.name: "; counts for new mail only",
}


def field_id(knob: dp.Knob) -> str:
    return knob.name.replace("_", "-")


def typed(knob: dp.Knob, value: float) -> str:
    """The value as the operator would type it: ``1m``, ``5d``, ``0``."""
    return str(int(value)) if knob.count else knob.shown(value)


class PolicyDialog(FieldsDialog):
    """Dismisses with a sentence saying what was saved, or None when cancelled.
    Enter in any field confirms."""

    AUTO_FOCUS = "#first-retry"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Ok", id="policy_ok", priority=True, tooltip="Check and save (Enter does too)"),
        Binding("escape", "cancel", "Cancel", id="policy_cancel", tooltip="Close without saving"),
    ]

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.lines = dp.report(engine)
        self.stored = dp.stored(engine)
        self.initial = {line.knob.name: typed(line.knob, self.stored.value(line.knob)) for line in self.lines}

    def compose(self) -> ComposeResult:
        with Vertical(id="policy-box", classes="dialog short-form") as box:
            box.border_title = "Delivery policy"
            yield Static(
                Text(
                    "Ages: 90s, 15m, 2h, 5d, 1w. Kept in the store: running workers pick a change up "
                    f"within {int(dp.RELOAD_SECONDS)} seconds. Retry delays double per attempt, the MTA "
                    "cooldown per failure in a row."
                ),
                classes="dialog-hint",
            )
            for line in self.lines:
                knob = line.knob
                fid = field_id(knob)
                field = Input(self.initial[knob.name], id=fid, compact=True, placeholder=typed(knob, knob.default))
                note = f"default {typed(knob, knob.default)}{NOTES.get(knob.name, '')}"
                yield FormRow(field, Label(knob.label, classes="form-label"), field, Label(note, classes="inline-note"))
                yield FieldError(fid)
                if line.env_raw is not None:
                    yield Static(
                        Text(
                            f"⚠ {knob.env}={safe_str(line.env_raw)} overrides this here "
                            f"({typed(knob, line.value)} is used)"
                        ),
                        id=f"{fid}-override",
                        classes="field-warning",
                    )
            yield self.buttons()
        yield Footer()

    def _save(self) -> dp.Policy:
        """The changed fields checked, then stored (nothing written when one is wrong)."""
        changes: dict[str, float] = {}
        for knob in dp.KNOBS:
            text = self.query_one(f"#{field_id(knob)}", Input).value
            if text.strip() != self.initial[knob.name]:
                changes[knob.name] = dp.parse(knob, text)
        return dp.set_policy(self.engine, changes) if changes else self.stored

    def action_save(self) -> None:
        saved = self.saving(self._save, lambda key: field_id(dp.BY_NAME.get(key, dp.FIRST_RETRY)))
        if saved is None:
            return
        if saved == self.stored:
            self.dismiss(None)
            return
        said = [
            f"{k.label.lower()} {k.shown(saved.value(k))}" for k in dp.KNOBS if saved.value(k) != self.stored.value(k)
        ]
        self.dismiss(f"Delivery policy saved: {', '.join(said)}.")
