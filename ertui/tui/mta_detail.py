"""The expanded details of one MTA: every setting, health in full, live numbers."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline, Static

from ertui.models import Mta, Security
from ertui.tui.timefmt import local

SPARK_MINUTES = 10


def detail_text(mta: Mta, open_connections: int | None) -> Text:
    """Every setting and the health of ``mta`` (never its password)."""
    text = Text()

    def field(name: str, value: str, style: str = "") -> None:
        text.append(f"{name}: ", style="bold")
        text.append(value, style=style)

    field("Description", mta.description)
    text.append("   ")
    field("Status", "Enabled" if mta.enabled else "Disabled",
          "green" if mta.enabled else "yellow")
    text.append("\n")
    field("Host", f"{mta.host}:{mta.port}")
    text.append("   ")
    field("Security", Security(mta.security).label)
    text.append("   ")
    field("Verify TLS certificate", "yes" if mta.verify_tls else "no")
    text.append("\n")
    if mta.use_auth:
        field("User/Pass Authorization", f"{mta.username} (password stored)")
    else:
        field("User/Pass Authorization", "off")
    text.append("   ")
    field("Max. Concurrent Connections", str(mta.max_connections))
    text.append("   ")
    field("Timeout", f"{mta.timeout:g} s")
    text.append("\n")
    field("Messages sent", str(mta.sent_count))
    text.append("   ")
    field("Open connections now",
          "— (no worker here)" if open_connections is None else str(open_connections))
    text.append("   ")
    field("Last success", local(mta.last_success_at))
    text.append("\n")
    if mta.last_error:
        failures = mta.consecutive_failures
        when = local(mta.last_error_at)
        field("Last error", f"{when}, {failures} in a row" if failures else when, "red")
        text.append("\n")
        text.append(mta.last_error, style="red")
    else:
        field("Last error", "none")
    return text


class MtaDetail(Vertical):
    """Shown under the table while a row is expanded."""

    def compose(self) -> ComposeResult:
        yield Static(id="detail-text")
        with Horizontal(id="detail-spark-row"):
            yield Label(f"Deliveries, last {SPARK_MINUTES} min ", id="detail-spark-label")
            yield Sparkline([], id="detail-spark")
            yield Label("", id="detail-spark-total")

    def show(self, mta: Mta, open_connections: int | None, deliveries: list[int] | None) -> None:
        self.border_title = f"▼ {mta.description}"
        self.query_one("#detail-text", Static).update(detail_text(mta, open_connections))
        spark = self.query_one("#detail-spark", Sparkline)
        total = self.query_one("#detail-spark-total", Label)
        if deliveries is None:
            spark.data = []
            total.update(Text(" (no worker here)", style="dim"))
        else:
            spark.data = [float(n) for n in deliveries] or [0.0]
            total.update(Text(f" {sum(deliveries)} in total"))
