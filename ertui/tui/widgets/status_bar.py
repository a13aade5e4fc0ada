"""The bottom of Mail Settings: the status line, the queue counts and View Mail Queue."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

from ertui.termsafe import terminal_safe


@dataclass(frozen=True)
class Status:
    worker_state: str
    extra: str  # e.g. the demo's "Demo sink received 12 messages"
    mtas: int
    enabled: int
    admin_email: str | None
    stalled: str | None  # why mail is not moving (queue.stats), if it is not
    counts: dict[str, int]  # messages per status
    connections: int = 0  # SMTP connections open now, by every worker on the store


def status_text(s: Status) -> Text:
    """The worker, the MTAs, and a warning with the key that fixes it; one line
    each, cut with "…" rather than wrapped (the bar never jumps)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("Worker ", style="bold")
    text.append(s.worker_state, style="green" if s.worker_state == "running" else "yellow")
    if s.worker_state in ("running", "paused"):
        text.append(" (p)")
    text.append(f" · {s.enabled} of {s.mtas} MTAs enabled")
    if s.extra:  # a line of its own: the wrap would cut "Demo sink received 12 messages"
        text.append(f"\n{terminal_safe(s.extra)}", style="cyan")
    if s.enabled == 0:
        hint = "press a to add one" if not s.mtas else "select one, press space"
        text.append(f"\n⚠ No MTA is enabled: {hint}.", style="bold yellow")
    if not s.admin_email:
        text.append("\n⚠ No administrator email address (the sender of all mail): press A.", style="bold yellow")
    elif s.enabled and s.stalled:
        text.append(f"\n⚠ Mail is not moving: {terminal_safe(s.stalled)}.", style="bold yellow")
    return text


def in_flight(counts: dict[str, int], connections: int) -> tuple[int, int]:
    """(in flight, waiting): a connection sends one message at a time, so of the
    messages claimed by workers ("sending") at most one per open connection is on
    the wire; the rest wait with the queued ones."""
    sending = counts.get("sending", 0)
    flying = min(sending, connections)
    return flying, counts.get("queued", 0) + sending - flying


def counts_text(counts: dict[str, int], connections: int = 0) -> Text:
    """Three lines of fixed wording: in flight and waiting, deferred, failed."""
    flying, waiting = in_flight(counts, connections)
    lines = Text(no_wrap=True, overflow="ellipsis")
    lines.append(f"{flying} in flight", style="green" if flying else "")
    lines.append(f" · {waiting} waiting\n")
    lines.append(f"{counts.get('deferred', 0)} deferred\n", style="yellow" if counts.get("deferred") else "")
    failed = counts.get("failed", 0)
    lines.append(f"{failed} failed", style="bold red" if failed else "")
    return lines


class StatusBar(Horizontal):
    def compose(self) -> ComposeResult:
        yield Static(id="status-line")
        yield Static(id="queue-counts")
        yield Button("View Mail Queue (m)", id="queue-button", variant="primary")

    def show(self, status: Status) -> None:
        self.query_one("#status-line", Static).update(status_text(status))
        self.query_one("#queue-counts", Static).update(counts_text(status.counts, status.connections))
