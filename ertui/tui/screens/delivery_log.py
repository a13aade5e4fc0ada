"""The Delivery log: every delivery attempt of every worker on the store, live.

It tails ``ertui.delivery_log`` (the attempt table) from a thread every half
second, keeps the last 1,000 lines, colours what did not deliver, and pauses
with Space (new attempts are fetched again on resume, none is lost).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from sqlalchemy.engine import Engine
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message as TMessage
from textual.screen import Screen
from textual.widgets import Footer, Header, RichLog, Static

from ertui import delivery_log
from ertui.errors import ErtuiError
from ertui.termsafe import terminal_safe
from ertui.timeutil import as_utc

MAX_LINES = 1000
BACKLOG = 200  # attempts shown when the screen opens


class LinesRead(TMessage):
    def __init__(self, lines: list[delivery_log.LogLine], error: str | None, after: int = 0) -> None:
        super().__init__()
        self.lines = lines
        self.error = error
        self.after = after  # the id the read started after


def line_text(line: delivery_log.LogLine) -> Text:
    """One attempt as a line: time, message, MTA, receiver, outcome and reply."""
    stamp = as_utc(line.at).astimezone().strftime("%H:%M:%S")
    reply = " ".join(p for p in (str(line.code or ""), line.text) if p)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{stamp}  ", style="dim")
    text.append(f"#{line.message_id}  ")
    text.append(terminal_safe(line.mta), style="bold")
    text.append(f"  {terminal_safe(line.recipient)}  ")
    outcome_style = "green" if line.outcome == "sent" else ("red" if line.outcome == "failed" else "yellow")
    text.append(line.outcome, style=f"bold {outcome_style}")
    if reply:
        text.append(f" {terminal_safe(reply)}", style=outcome_style if line.failed else "")
    text.append(f"  ({line.duration_ms} ms)", style="dim")
    return text


class DeliveryLogScreen(Screen[None]):
    """The last 1,000 delivery attempts, newest at the bottom, live."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "app.help", "Help", id="log.help", tooltip="List every key of this screen"),
        Binding("escape", "app.pop_screen", "Back", id="log.back", tooltip="Go back"),
        Binding("space", "toggle_pause", "Pause", id="log.pause", tooltip="Pause or resume the live log"),
        Binding("f", "toggle_failed", "Failures", id="log.failed", tooltip="Show only attempts that did not deliver"),
    ]

    def __init__(self, engine: Engine, *, poll_seconds: float = delivery_log.POLL_SECONDS) -> None:
        super().__init__(id="delivery-log-screen")
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.paused = False
        self.failed_only = False
        self.after_id: int | None = None
        self.shown = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="log-header")
        yield RichLog(id="delivery-log", max_lines=MAX_LINES, wrap=False, markup=False, auto_scroll=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Delivery log"
        self._header()
        self.fetch()
        self.set_interval(self.poll_seconds, self.fetch)

    def _header(self) -> None:
        state = "paused (space resumes)" if self.paused else "live"
        which = "attempts that did not deliver" if self.failed_only else "every attempt"
        self.query_one("#log-header", Static).update(Text(f"{which.capitalize()} of every worker · {state}"))

    @work(thread=True, exclusive=True, group="log")
    def fetch(self) -> None:
        if self.paused:
            return
        flt = delivery_log.LogFilter(failed=self.failed_only)
        try:
            after = self.after_id
            if after is None:
                after = delivery_log.tail_start(self.engine, flt, BACKLOG)
            lines = delivery_log.read(self.engine, flt, after_id=after)
            self.after_id = lines[-1].id if lines else after
        except ErtuiError as exc:
            self.post_message(LinesRead([], str(exc)))
            return
        if lines:
            self.post_message(LinesRead(lines, None, after))

    @on(LinesRead)
    def _show(self, event: LinesRead) -> None:
        log = self.query_one("#delivery-log", RichLog)
        if self.paused and event.lines:  # read just before Space: shown on resume instead
            self.after_id = event.after
            return
        if event.error:
            log.write(Text(terminal_safe(event.error), style="bold red"))
            return
        for line in event.lines:
            log.write(line_text(line))
        self.shown += len(event.lines)

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self._header()
        if not self.paused:
            self.fetch()

    def action_toggle_failed(self) -> None:
        self.failed_only = not self.failed_only
        self.after_id = None
        self.query_one("#delivery-log", RichLog).clear()
        self._header()
        self.fetch()
