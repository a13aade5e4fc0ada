"""The bottom of Mail Settings: the status line, the queue counts and View Mail Queue."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

COUNTED = ("queued", "deferred", "failed")


@dataclass(frozen=True)
class Status:
    worker_state: str
    extra: str  # e.g. the demo's "Demo sink received 12 messages"
    mtas: int
    enabled: int
    admin_email: str | None
    stalled: str | None  # why mail is not moving (queue.stats), if it is not
    counts: dict[str, int]  # messages per status


def status_text(s: Status) -> Text:
    """The worker, the MTAs, and a warning with the key that fixes it."""
    text = Text()
    text.append("Worker ", style="bold")
    text.append(s.worker_state, style="green" if s.worker_state == "running" else "yellow")
    if s.worker_state in ("running", "paused"):
        text.append(" (p)")
    text.append(f" · {s.enabled} of {s.mtas} MTAs enabled")
    if s.extra:  # a line of its own: the wrap would cut "Demo sink received 12 messages"
        text.append(f"\n{s.extra}", style="cyan")
    if s.enabled == 0:
        hint = "press a to add one" if not s.mtas else "select one, press space"
        text.append(f"\n⚠ No MTA is enabled: {hint}.", style="bold yellow")
    if not s.admin_email:
        text.append("\n⚠ No administrator email address (the sender of all mail): press A.", style="bold yellow")
    elif s.enabled and s.stalled:
        text.append(f"\n⚠ Mail is not moving: {s.stalled}.", style="bold yellow")
    return text


def counts_text(counts: dict[str, int]) -> Text:
    lines = Text(justify="right")
    for i, status in enumerate(COUNTED):
        n = counts.get(status, 0)
        lines.append(f"{n} {status}", style="bold red" if status == "failed" and n else "")
        sending = counts.get("sending", 0)
        if status == "queued" and sending:
            # Claimed by a worker and on their way: mail is moving even at "0 queued".
            lines.append(f" · {sending} sending", style="green")
        if i < len(COUNTED) - 1:
            lines.append("\n")
    return lines


class StatusBar(Horizontal):
    def compose(self) -> ComposeResult:
        yield Static(id="status-line")
        yield Static(id="queue-counts")
        yield Button("View Mail Queue (m)", id="queue-button", variant="primary")

    def show(self, status: Status) -> None:
        self.query_one("#status-line", Static).update(status_text(status))
        self.query_one("#queue-counts", Static).update(counts_text(status.counts))
