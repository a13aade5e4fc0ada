"""One message from the Mail Queue, in tabs: Summary (its fields and body),
Attempts (its attempt log), Headers and Raw (the bytes the worker sends, as
``queue show --headers/--raw`` writes them: a password-reset token masked,
never revealed here; control characters shown as escapes). 1–4 switch tabs."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import Engine
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message as TMessage
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from ertui import queue, render
from ertui.errors import NotFoundError
from ertui.store import sealed
from ertui.store.models import Attempt, Message, MessageStatus
from ertui.termsafe import terminal_safe
from ertui.tui import timefmt
from ertui.tui.failures import FAILURES, sentence
from ertui.tui.lifecycle import gone
from ertui.tui.reads import Reads
from ertui.tui.safe import safe
from ertui.tui.screens.queue_actions import QueueActionDone, act, confirm_delete
from ertui.tui.screens.queue_keys import message_keys
from ertui.tui.widgets import queue_format as fmt
from ertui.tui.widgets.teardown import ConsoleHeader

ATTEMPT_COLUMNS = (
    ("started", "Started"),
    ("mta", "MTA"),
    ("outcome", "Outcome"),
    ("code", "Code"),
    ("ms", "Took"),
    ("text", "Server reply or error"),
)
TABS = ("summary", "attempts", "headers", "raw")
RAW_NOTE = "The bytes the worker sends (CRLF line ends shown as lines); a password-reset token is masked."


class MessageLoaded(TMessage):
    def __init__(self, msg: Message | None, attempts: list[Attempt], names: dict[int, str], error: str | None) -> None:
        super().__init__()
        self.msg = msg
        self.attempts = attempts
        self.names = names
        self.error = error


def summary(msg: Message, names: dict[int, str], ref: datetime) -> Table:
    """The message's fields as a two-column grid; every value plain text; every
    relative time at ``ref`` (the same tick as the attempt log's)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    mta = names.get(msg.last_mta_id, f"#{msg.last_mta_id}") if msg.last_mta_id else timefmt.DASH
    waiting = msg.status in (MessageStatus.QUEUED.value, MessageStatus.DEFERRED.value)
    rows: list[tuple[str, Text]] = [
        ("Status", fmt.status_text(msg.status)),
        ("To", safe(msg.recipient)),
        ("From", safe(msg.sender)),
        ("Subject", safe(msg.subject)),
        ("Kind", safe(msg.kind)),
        ("Queued", Text(timefmt.stamp(msg.created_at, ref))),
        ("Attempts", Text(str(msg.attempts))),
        ("Last attempt", Text(timefmt.stamp(msg.last_attempt_at, ref))),
        ("Next attempt", Text(timefmt.stamp(msg.next_attempt_at, ref) if waiting else timefmt.DASH)),
        ("Expires", Text(timefmt.stamp(msg.expires_at, ref))),
        ("Last MTA", safe(mta)),
        ("Last error", safe(msg.last_error or timefmt.DASH, style="red" if msg.last_error else "")),
    ]
    if msg.status == MessageStatus.SENT.value:
        rows.append(("Sent", Text(timefmt.stamp(msg.sent_at, ref))))
        rows.append(("Server reply", safe(msg.server_reply or timefmt.DASH)))
    rows.append(("Message-ID", safe(msg.message_id, style="dim")))
    for label, value in rows:
        grid.add_row(label, value)
    return grid


def attempt_cells(a: Attempt, names: dict[int, str], ref: datetime) -> tuple[Text, ...]:
    mta = a.mta_description or (names.get(a.mta_id, f"#{a.mta_id}") if a.mta_id else timefmt.DASH)
    style = {"sent": "green", "deferred": "yellow", "failed": "bold red", "mta_error": "red"}
    return (
        Text(timefmt.clock(a.started_at, ref)),
        Text(fmt.one_line(mta, 24)),
        Text(a.outcome, style=style.get(a.outcome, "")),
        Text(str(a.code) if a.code is not None else timefmt.DASH),
        Text(f"{a.duration_ms} ms", justify="right"),
        Text(fmt.one_line(a.text, 80) or timefmt.DASH),
    )


def source_text(data: bytes) -> Text:
    """A message's bytes for the screen: lines without their CR, any control
    character or undecodable byte shown as an escape (the bytes are already
    masked: ``sealed.masked_raw``)."""
    text = data.decode("utf-8", errors="backslashreplace").replace("\r\n", "\n")
    return Text(terminal_safe(text, keep_newlines=True))


class MessageScreen(Screen[None]):
    """A message with its attempt log; r/h/delete act on it, Esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # `?` is the App's too; bound here first so the footer shows it before the rest
        Binding("question_mark", "app.help", "Help", id="message.help", tooltip="List every key of this screen"),
        Binding("escape", "back", "Back", id="message.back", tooltip="Back to the Mail Queue"),
        *message_keys("message"),
        Binding("1", "tab('summary')", "Tabs", key_display="1-4", id="message.tab1", tooltip="Summary and body"),
        *(
            Binding(str(n), f"tab('{name}')", name.capitalize(), show=False, id=f"message.tab{n}", tooltip=tip)
            for n, name, tip in (
                (2, "attempts", "The attempt log"),
                (3, "headers", "The header block the worker sends"),
                (4, "raw", "The bytes the worker sends (a reset token masked)"),
            )
        ),
    ]

    def __init__(self, engine: Engine, message_id: int, *, poll_seconds: float | None = 1.0) -> None:
        super().__init__(id="message-screen")
        self.engine = engine
        self.message_id = message_id
        self.poll_seconds = poll_seconds
        self.msg: Message | None = None
        self._attempt_ids: set[int] = set()
        self._reads = Reads(self._load, lambda: self.message_id, self.call_later)
        self._raw: bytes | None = None  # the bytes shown in Headers and Raw
        self.title = f"Message #{message_id}"

    def compose(self) -> ComposeResult:
        yield ConsoleHeader()
        with TabbedContent(id="message-tabs", initial="summary"):
            with TabPane("Summary", id="summary"), VerticalScroll(id="message-scroll", classes="message-pane"):
                yield Static(Text("Loading…", style="dim"), id="message-summary")
                yield Static("Body", classes="section-title")
                yield Static(id="message-body")
            with TabPane("Attempts", id="attempts"):
                table: DataTable[Text] = DataTable(id="message-attempts", cursor_type="row")
                for key, label in ATTEMPT_COLUMNS:
                    table.add_column(label, key=key)
                yield table
                yield Static(Text("No delivery attempt yet.", style="dim"), id="message-no-attempts")
            with TabPane("Headers", id="headers"), VerticalScroll(id="message-headers-scroll", classes="message-pane"):
                yield Static(id="message-headers")
            with TabPane("Raw", id="raw"), VerticalScroll(id="message-raw-scroll", classes="message-pane"):
                yield Static(Text(RAW_NOTE, style="dim"), classes="message-note")
                yield Static(id="message-raw")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#message-attempts", DataTable).display = False
        self.query_one("#message-scroll", VerticalScroll).focus()
        self.reload()
        if self.poll_seconds:
            self.set_interval(self.poll_seconds, self._tick)

    def _tick(self) -> None:
        if self.is_current:
            self.reload()

    def on_delivery_notice(self, _message: TMessage) -> None:
        if self.is_current:
            self.reload()

    def reload(self) -> None:
        """Read the message again; one read at a time (``Reads``: a burst of events costs two)."""
        self._reads.ask()

    @work(thread=True, group="message-load")
    def _load(self, message_id: int) -> None:
        try:
            msg = queue.get_message(self.engine, message_id)
            attempts = queue.attempts_for(self.engine, message_id)
            names = queue.mta_names(self.engine)
            loaded = MessageLoaded(msg, attempts, names, None)
        except NotFoundError:
            loaded = MessageLoaded(None, [], {}, f"Message #{message_id} is gone (deleted).")
        except FAILURES as exc:
            loaded = MessageLoaded(None, [], {}, sentence(exc))
        self.post_message(loaded)

    @on(MessageLoaded)
    def _loaded(self, event: MessageLoaded) -> None:
        self._reads.done(self.message_id)
        if gone(self):
            return
        if event.msg is None:
            self.msg = None
            self.query_one("#message-summary", Static).update(Text(event.error or "", style="bold red"))
            return
        self.msg = event.msg
        ref = timefmt.now()  # one tick for every relative time on the screen
        self.query_one("#message-summary", Static).update(summary(event.msg, event.names, ref))
        self.query_one("#message-body", Static).update(Text(terminal_safe(event.msg.body, keep_newlines=True)))
        table = self.query_one("#message-attempts", DataTable)
        for a in event.attempts:  # the log only grows: append what is new, re-time the rest
            if a.id is None:
                continue
            cells = attempt_cells(a, event.names, ref)
            if a.id not in self._attempt_ids:
                table.add_row(*cells, key=str(a.id))
                self._attempt_ids.add(a.id)
            else:
                table.update_cell(str(a.id), "started", cells[0])
        table.display = bool(self._attempt_ids)
        tabs = self.query_one("#message-tabs", TabbedContent)
        tabs.get_tab("attempts").label = f"Attempts ({len(self._attempt_ids)})"
        self.query_one("#message-no-attempts", Static).display = not self._attempt_ids
        self._show_source(bytes(event.msg.raw))

    def _show_source(self, stored: bytes) -> None:
        """Headers and Raw: the masked bytes (``queue show --raw`` without
        ``--reveal-secrets``), redrawn only when they change (erased once sent)."""
        if stored == self._raw:
            return
        self._raw = stored
        shown = sealed.masked_raw(stored)
        self.query_one("#message-headers", Static).update(source_text(render.header_block(shown)))
        self.query_one("#message-raw", Static).update(source_text(shown))

    # -- tabs -----------------------------------------------------------------
    def action_tab(self, name: str) -> None:
        """1–4: Summary, Attempts, Headers, Raw; the tab's content takes the focus
        (up/down scroll it)."""
        self.query_one("#message-tabs", TabbedContent).active = name
        target = {"attempts": "#message-attempts", "headers": "#message-headers-scroll", "raw": "#message-raw-scroll"}
        widget = self.query_one(target.get(name, "#message-scroll"))
        if widget.display:
            widget.focus()

    # -- actions --------------------------------------------------------------
    def action_back(self) -> None:
        self.dismiss(None)

    def _need_message(self) -> Message | None:
        if self.msg is None:
            self.notify("This message is not there (any more).", severity="warning")
        return self.msg

    def action_retry(self) -> None:
        if self._need_message() is not None:
            self._act("retry")

    def action_hold(self) -> None:
        msg = self._need_message()
        if msg is not None:
            self._act("release" if msg.status == MessageStatus.HELD.value else "hold")

    def action_delete(self) -> None:
        msg = self._need_message()
        if msg is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._act("delete")

        self.app.push_screen(confirm_delete(self.message_id, msg.recipient), answered)

    @work(thread=True, group="message-action")
    def _act(self, action: str) -> None:
        self.post_message(act(self.engine, action, [self.message_id]))

    @on(QueueActionDone)
    def _done(self, event: QueueActionDone) -> None:
        if gone(self):
            return
        self.notify(event.text, severity=event.severity, markup=False)
        if event.ok and event.action == "delete":
            self.dismiss(None)
            return
        self.reload()
