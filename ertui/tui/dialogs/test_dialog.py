"""Test Email Settings: send one test email through an MTA's settings, show what happened."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from sqlalchemy.engine import Engine
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Footer, Input, LoadingIndicator, Static
from textual.worker import Worker

from ertui import mtas, settings, validate
from ertui.errors import ErtuiError, ValidationError
from ertui.mta_rules import host_port
from ertui.smtp.outcome import ACCEPTED, MtaConfig, Outcome, ProbeResult, Step
from ertui.tui.dialogs.base import Dialog
from ertui.tui.lifecycle import gone
from ertui.tui.safe import safe, safe_str
from ertui.tui.widgets.form_rows import FieldError, form_row

RECIPIENT_FIELD = "Test recipient"
clock = time.monotonic  # the elapsed time's clock (tests fix it)
TICK_SECONDS = 0.1
# the error kinds as an operator writes them (the rest: capitalised words)
ACRONYMS = {"dns": "DNS", "tls": "TLS", "starttls": "STARTTLS", "smtp": "SMTP"}


def kind_label(kind: str) -> str:
    """``tls_certificate`` → "TLS certificate", ``dns`` → "DNS"."""
    words = [ACRONYMS.get(w, w) for w in kind.split("_")]
    first = words[0] if words[0] in ACRONYMS.values() else words[0].capitalize()
    return " ".join([first, *words[1:]])


def running_text(elapsed: float, timeout: float) -> Text:
    return Text(f"Sending… {elapsed:.1f} s (timeout {timeout:g} s) · Esc cancels.")


def outcome_text(outcome: Outcome) -> Text:
    """The accepted sentence and the server's reply, or the error kind, text and hint."""
    if outcome.ok:
        text = Text(f"✓ {ACCEPTED}", style="bold green")
        reply = outcome.message
        if reply.startswith(ACCEPTED):  # the core says the sentence, then the reply
            reply = reply[len(ACCEPTED) :].lstrip(":").strip()
        elif outcome.code and not reply.startswith(str(outcome.code)):
            reply = f"{outcome.code} {reply}"
        if reply:
            text.append("\nServer replied: ", style="bold")
            text.append(safe_str(reply, lines=True))
        return text
    kind = kind_label(outcome.kind.value if outcome.kind is not None else "error")
    text = Text(f"✗ {kind}", style="bold red")
    if outcome.code:
        text.append(f" ({outcome.code})", style="bold red")
    text.append(" · permanent" if outcome.permanent else " · temporary", style="dim")
    if outcome.message:
        text.append("\n" + safe_str(outcome.message, lines=True))
    if outcome.hint:
        text.append("\nHint: ", style="bold yellow")
        text.append(safe_str(outcome.hint, lines=True), style="yellow")
    return text


class TestDialog(Dialog[None]):
    __test__ = False  # a dialog, not a pytest class

    AUTO_FOCUS = "#to"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+s",
            "send",
            "Ok",
            id="test_send",
            priority=True,
            tooltip="Send the test email (Enter in the address does too)",
        ),
        Binding("escape", "cancel", "Cancel", id="test_cancel", tooltip="Stop a running test, or close"),
    ]

    class Finished(Message):
        def __init__(self, result: ProbeResult) -> None:
            super().__init__()
            self.result = result

    class StepDone(Message):
        def __init__(self, step: Step) -> None:
            super().__init__()
            self.step = step

    class Failed(Message):
        def __init__(self, sentence: str) -> None:
            super().__init__()
            self.sentence = sentence

    def __init__(self, engine: Engine, config: MtaConfig) -> None:
        super().__init__()
        self.engine = engine
        self.config = config
        self.running: Worker[None] | None = None
        self.started = 0.0  # time.monotonic() when the running test began
        self.admin_email = settings.admin_email(engine)
        self.from_name, _ = settings.sender_identity(engine)
        self.steps: list[Step] = []

    def compose(self) -> ComposeResult:
        c = self.config
        with Vertical(id="test-box", classes="dialog") as box:
            box.border_title = "Test Email Settings"
            yield Static(
                safe(
                    f"Through {c.label}: {host_port(c.host, c.port)}, {c.security.label}"
                    + (f", user {c.username}" if c.use_auth else "")
                ),
                id="test-target",
            )
            yield form_row(
                "Send a test email to",
                Input(self.admin_email or "", compact=True, id="to", placeholder="name@example.com", max_length=254),
            )
            yield FieldError("to")
            if self.admin_email:
                named = f" as {safe_str(self.from_name)!r}" if self.from_name else ""
                sender = Text(f"It is sent from the administrator's address {self.admin_email}{named}.", style="dim")
            else:
                sender = Text(
                    "⚠ The administrator has no email address and every email is "
                    "sent from it: set it with A on Mail Settings.",
                    style="bold yellow",
                )
            yield Static(sender, id="test-sender")
            with Horizontal(id="test-running"):
                yield LoadingIndicator(id="test-spinner")
                yield Static(running_text(0.0, self.config.timeout), id="test-running-text")
            yield Static(id="test-steps")
            yield Static(id="test-result")
            with VerticalScroll(id="transcript-pane"):
                yield Static(id="transcript")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Ok", id="ok", variant="primary")
                yield Button("Close", id="close")
        yield Footer()

    def on_mount(self) -> None:
        if gone(self):
            return
        self.set_interval(TICK_SECONDS, self._tick)
        self._set_running(False)
        self.query_one("#test-result").display = False
        self.query_one("#test-steps").display = False
        self.query_one("#transcript-pane").display = False

    def elapsed(self) -> float:
        return clock() - self.started

    def _tick(self) -> None:
        """While a test runs: how long so far, against the MTA's timeout."""
        if self.running is not None and not gone(self):
            self.query_one("#test-running-text", Static).update(running_text(self.elapsed(), self.config.timeout))

    def _set_running(self, running: bool) -> None:
        self.query_one("#test-running").display = running
        self.query_one("#ok", Button).disabled = running

    # -- sending ---------------------------------------------------------------
    @on(Input.Submitted, "#to")
    @on(Button.Pressed, "#ok")
    def _send(self) -> None:
        self.action_send()

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.action_cancel()

    def action_send(self) -> None:
        if self.running is not None:
            return
        error = self.query_one("#to-error", FieldError)
        try:
            to = validate.email(self.query_one("#to", Input).value, field=RECIPIENT_FIELD)
        except ValidationError as exc:
            error.show(exc.message)
            return
        error.show(None)
        self.query_one("#test-result").display = False
        self.query_one("#transcript-pane").display = False
        self._set_running(True)
        self.steps = []
        self.query_one("#test-steps").display = False
        self.started = clock()
        self.running = self._run_test(to)

    @work(exclusive=True, group="smtp-test", exit_on_error=False)
    async def _run_test(self, to: str) -> None:
        try:
            result = await mtas.run_test(self.engine, self.config, to, on_step=self._step_done)
        except ErtuiError as exc:
            self.post_message(self.Failed(str(exc)))
        except Exception as exc:  # a broken transport must not close the console
            self.post_message(self.Failed(f"The test could not run: {type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.Finished(result))

    def _step_done(self, step: Step) -> None:
        self.post_message(self.StepDone(step))

    @on(StepDone)
    def _step(self, message: StepDone) -> None:
        """The checklist fills in as each step ends (``ertui.smtp.steps``)."""
        if gone(self) or self.running is None:
            return
        self.steps.append(message.step)
        self._show_steps(finished=False)

    def _show_steps(self, *, finished: bool) -> None:
        from ertui.smtp.steps import planned

        lines = Text()
        for step in self.steps:
            ms = f"{step.ms:.0f} ms" if step.ms is not None else ""
            lines.append("✓ " if step.ok else "✗ ", style="bold green" if step.ok else "bold red")
            lines.append(f"{step.name:<9}{ms:>8}  ")
            lines.append(safe_str(step.detail) + "\n", style="" if step.ok else "red")
            if step.warning:
                lines.append(f"  ! {safe_str(step.warning)}\n", style="yellow")
        failed = any(not s.ok for s in self.steps)
        if finished and failed:
            done = {s.name for s in self.steps}
            for name in planned(self.config.security.value, self.config.use_auth, sends=True):
                if name not in done:
                    lines.append(f"· {name:<9}{'':>8}  not reached\n", style="dim")
        widget = self.query_one("#test-steps", Static)
        widget.display = bool(self.steps)
        widget.update(lines)

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        if gone(self):
            return
        self.running = None
        self._set_running(False)
        self.steps = list(message.result.steps) or self.steps
        self._show_steps(finished=True)
        self._show(outcome_text(message.result.outcome), message.result.transcript)

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        if gone(self):
            return
        self.running = None
        self._set_running(False)
        self._show(safe(f"✗ {message.sentence}", style="bold red", lines=True), [])

    def _show(self, result: Text, transcript: list[str]) -> None:
        widget = self.query_one("#test-result", Static)
        widget.display = True
        widget.update(result)
        pane = self.query_one("#transcript-pane", VerticalScroll)
        pane.display = bool(transcript)
        pane.border_title = "Transcript"
        self.query_one("#transcript", Static).update(safe("\n".join(transcript), lines=True))

    def action_cancel(self) -> None:
        if self.running is not None:
            self.running.cancel()
            self.running = None
            self._set_running(False)
            self._show(Text(f"Cancelled after {self.elapsed():.1f} s.", style="bold yellow"), [])
            return
        self.dismiss(None)
