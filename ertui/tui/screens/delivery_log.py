"""The Delivery log: every delivery attempt of every worker on the store, live.

It tails ``ertui.delivery_log`` (the attempt table) from a thread every half
second (every second while a worker floods it; one read at a time, its cursor
moved by the UI thread when the read ends, so a slow store never shows an
attempt twice), keeps the last 1,000 lines in a ``Log`` (strings; only the lines on
screen are drawn, so a worker at full drain is not slowed: ``bench/log_screen.py``),
colours what did not deliver, and pauses with Space (new attempts are fetched
again on resume; when more than 1,000 came meanwhile, the newest 1,000).
"""

from __future__ import annotations

from typing import ClassVar

from rich.highlighter import Highlighter
from rich.text import Text
from sqlalchemy.engine import Engine
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message as TMessage
from textual.screen import Screen
from textual.widgets import Footer, Log, Static

from ertui import delivery_log
from ertui.errors import ErtuiError
from ertui.termsafe import terminal_safe
from ertui.timeutil import as_utc
from ertui.tui.reads import Reads
from ertui.tui.widgets.teardown import ConsoleHeader

MAX_LINES = 1000
BACKLOG = 200  # attempts shown when the screen opens
BUSY = MAX_LINES // 2  # a read of this many lines: the next poll rests


class LinesRead(TMessage):
    """One read's result (every read posts exactly one), for the UI thread to apply."""

    def __init__(
        self, lines: list[delivery_log.LogLine], error: str | None, after: int = 0, generation: int = 0
    ) -> None:
        super().__init__()
        self.lines = lines
        self.error = error
        self.after = after  # the id the read started after
        self.generation = generation  # the view it was read for (Failures toggles a new one)
        # formatted in the reading thread: the UI thread only hands strings to the Log
        self.texts = [line_text(line) for line in lines[-MAX_LINES:]]


MARKS = {"sent": "✓", "deferred": "↻", "failed": "✗", "mta_error": "!"}
STYLES = {"✓": "green", "↻": "yellow", "✗": "bold red", "!": "red"}
STAMP = len("00:00:00")


def line_text(line: delivery_log.LogLine) -> str:
    """One attempt as a line: time, a mark for the outcome, message, MTA, receiver,
    outcome and reply — plain and terminal-safe (the ``Log`` widget keeps strings
    and draws only the lines on screen; ``OutcomeHighlighter`` colours them)."""
    stamp = as_utc(line.at).astimezone().strftime("%H:%M:%S")
    reply = " ".join(p for p in (str(line.code or ""), line.text) if p)
    mark = MARKS.get(line.outcome, "·")
    outcome = f"{line.outcome} {reply}" if reply else line.outcome
    # only the text from outside is escaped (the mark is not ASCII: the whole line would take the slow path)
    outside = terminal_safe(f"#{line.message_id}  {line.mta}  {line.recipient}  {outcome}")
    return f"{stamp} {mark} {outside}  ({line.duration_ms} ms)"


class OutcomeHighlighter(Highlighter):
    """The time dim, the outcome's mark coloured, and a line that did not deliver
    in its colour: found by position (the mark follows the time), never by
    searching text from outside."""

    def highlight(self, text: Text) -> None:
        text.stylize("dim", 0, STAMP)
        mark = text.plain[STAMP + 1 : STAMP + 2]
        style = STYLES.get(mark)
        if style is None:
            return
        text.stylize(f"bold {style}", STAMP + 1, STAMP + 2)
        if mark != "✓":
            text.stylize(style, STAMP + 3)


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
        self.after_id: int | None = None  # moved on the UI thread only, by each read's result
        self.shown = 0
        self._rest = False  # skip the next poll (see _tick)
        self._generation = 0  # the view: Failures toggles a new one
        self._reads = Reads(self._begin, lambda: self._generation, self.call_later)
        self.error: str | None = None  # the store's failure, shown in the header until a read works

    def compose(self) -> ComposeResult:
        yield ConsoleHeader()
        yield Static(id="log-header")
        log = Log(id="delivery-log", max_lines=MAX_LINES, highlight=True, auto_scroll=True)
        log.highlighter = OutcomeHighlighter()
        yield log
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Delivery log"
        self._header()
        self._read()
        self.set_interval(self.poll_seconds, self._tick)

    def _tick(self) -> None:
        if self._rest:  # the last read was a flood: lines scroll by too fast to read anyway
            self._rest = False
            return
        self._read()

    def _read(self) -> None:
        """Read now, or after the read under way (a slow store: the next read
        goes on from where that one ended, so no attempt is read twice)."""
        if not self.paused:
            self._reads.ask()

    def _begin(self, generation: int) -> None:
        self.fetch(self.after_id, self.failed_only, generation)

    def _header(self) -> None:
        state = "paused (space resumes)" if self.paused else "live"
        which = "attempts that did not deliver" if self.failed_only else "every attempt"
        header = self.query_one("#log-header", Static)
        if self.error:
            header.update(Text(terminal_safe(self.error), style="bold red"))
        else:
            header.update(Text(f"{which.capitalize()} of every worker · {state}"))

    @work(thread=True, group="log")
    def fetch(self, after_id: int | None, failed_only: bool, generation: int) -> None:
        """Read the attempts after ``after_id`` in a thread; the result goes to ``_show``."""
        flt = delivery_log.LogFilter(failed=failed_only)
        try:
            after = after_id
            if after is None:
                after = delivery_log.tail_start(self.engine, flt, BACKLOG)
            # at full drain more than MAX_LINES may come between two reads: only the
            # newest MAX_LINES can be kept, so only they are read (the screen stays
            # current, and a read costs at most MAX_LINES rows whatever the rate)
            after = max(after, delivery_log.tail_start(self.engine, flt, MAX_LINES))
            lines = delivery_log.read(self.engine, flt, after_id=after, limit=MAX_LINES)
        except ErtuiError as exc:
            self.post_message(LinesRead([], str(exc), generation=generation))
            return
        self.post_message(LinesRead(lines, None, after, generation))

    @on(LinesRead)
    def _show(self, event: LinesRead) -> None:
        if not self._reads.done(event.generation):  # read for the view before Failures was toggled
            return
        if event.error or self.error:
            self.error = event.error
            self._header()
        if event.error:
            return
        if self.paused:  # read just before Space: read again on resume
            return
        self.after_id = event.lines[-1].id if event.lines else event.after
        # a worker at full drain: one read a second, not two (half the reads and frames)
        self._rest = len(event.lines) >= BUSY
        if event.lines:  # one write for the whole read: the widget keeps strings, draws what is on screen
            self.query_one("#delivery-log", Log).write_lines(event.texts)
            self.shown += len(event.lines)

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self._header()
        self._read()

    def action_toggle_failed(self) -> None:
        self.failed_only = not self.failed_only
        self._generation += 1  # a read under way is for the other view: dropped when it ends
        self.after_id = None
        self.query_one("#delivery-log", Log).clear()
        self._header()
        self._read()
