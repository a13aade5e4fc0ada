"""Doctor: `ertui doctor`'s checklist in a dialog, filling in live as each
check completes (the MTAs are probed in parallel, no mail sent)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from sqlalchemy.engine import Engine
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message as TMessage
from textual.widgets import Footer, Static

from ertui import doctor
from ertui.termsafe import terminal_safe
from ertui.tui.dialogs.base import Dialog


class CheckDone(TMessage):
    def __init__(self, check: doctor.Check) -> None:
        super().__init__()
        self.check = check


class ReportDone(TMessage):
    def __init__(self, report: doctor.Report) -> None:
        super().__init__()
        self.report = report


def check_text(check: doctor.Check) -> Text:
    text = Text()
    text.append("✓ " if check.ok else "✗ ", style="bold green" if check.ok else "bold red")
    text.append(terminal_safe(check.name), style="bold")
    text.append(f": {terminal_safe(check.detail)}")
    if not check.ok and check.fix:
        text.append(f"\n    fix: {terminal_safe(check.fix)}", style="yellow")
    return text


class DoctorDialog(Dialog[None]):
    """Why is mail not going out? The checks, in order, as they complete."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="doctor_close", tooltip="Close the checklist"),
        Binding("r", "rerun", "Run again", id="doctor_rerun", tooltip="Run every check again"),
    ]

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.checks: list[doctor.Check] = []
        self.report: doctor.Report | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="doctor-box", classes="dialog") as box:
            box.border_title = "Doctor — why is mail not going out?"
            yield Static(Text("Checking…"), id="doctor-summary")
            with VerticalScroll(id="doctor-checks"):
                yield Static(id="doctor-list")
        yield Footer()

    def on_mount(self) -> None:
        self.run_checks()

    @work(exclusive=True, group="doctor")
    async def run_checks(self) -> None:
        self.checks = []
        self.report = None
        self.query_one("#doctor-summary", Static).update(Text("Checking…"))

        def done(check: doctor.Check) -> None:
            self.post_message(CheckDone(check))

        report = await doctor.run(lambda: self.engine, done)
        self.post_message(ReportDone(report))

    @on(CheckDone)
    def _check(self, event: CheckDone) -> None:
        self.checks.append(event.check)
        body = Text("\n").join(check_text(c) for c in self.checks)
        self.query_one("#doctor-list", Static).update(body)

    @on(ReportDone)
    def _done(self, event: ReportDone) -> None:
        self.report = event.report
        failed = sum(1 for c in event.report.checks if not c.ok)
        summary = (
            Text("Every check passed.", style="bold green")
            if event.report.ok
            else Text(f"{failed} check(s) failed: each says what to do.", style="bold red")
        )
        self.query_one("#doctor-summary", Static).update(summary)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_rerun(self) -> None:
        self.query_one("#doctor-list", Static).update(Text(""))
        self.run_checks()
