"""The expanded details of one MTA: every setting, health in full, live numbers."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline, Static

from ertui.mta_rules import Security, host_port
from ertui.store.models import Mta
from ertui.termsafe import terminal_safe
from ertui.tui.safe import safe_str
from ertui.tui.timefmt import local

SPARK_MINUTES = 10


def connections_text(here: int | None, everywhere: int) -> str:
    """Open connections: all workers on the store (slot leases), and this console's
    (None: the console runs no worker)."""
    if here is None:
        return f"{everywhere} (all workers)"
    return f"{everywhere} (all workers; {here} from this console)"


def detail_text(mta: Mta, here: int | None, everywhere: int) -> Text:
    """Every setting and the health of ``mta`` (never its password)."""
    text = Text()

    def field(name: str, value: str, style: str = "", end: str = " · ") -> None:
        text.append(f"{name}: ", style="bold")
        text.append(value, style=style)
        text.append(end)

    field("Host", safe_str(host_port(mta.host, mta.port)))
    field("Security", Security(mta.security).label)
    field("Verify TLS cert.", "yes" if mta.verify_tls else "no", end="\n")
    field("Auth", f"{safe_str(mta.username)} (password stored)" if mta.use_auth else "off")
    field("Max. connections", str(mta.max_connections))
    field("Timeout", f"{mta.timeout:g} s", end="\n")
    field("Messages sent", str(mta.sent_count))
    field("Open connections now", connections_text(here, everywhere), end="\n")
    field("Last success", local(mta.last_success_at), end="\n")
    if _contact_is_news(mta):
        field("Last contact", local(mta.last_contact_at), end=" — ")
        text.append(terminal_safe(mta.last_contact_result or ""), style="dim")
        text.append("\n")
    if mta.last_error:
        failures = mta.consecutive_failures
        when = local(mta.last_error_at)
        field("Last error", f"{when}, {failures} in a row" if failures else when, "red", end="\n")
        text.append(safe_str(mta.last_error, lines=True), style="red")
    else:
        field("Last error", "none", end="")
    return text


def _contact_is_news(mta: Mta) -> bool:
    """The last contact is newer than the last success and the last error (say
    a message refused with a 5xx): otherwise those lines say it already."""
    seen = mta.last_contact_at
    if seen is None:
        return False
    return all(t is None or seen > t for t in (mta.last_success_at, mta.last_error_at))


class MtaDetail(Vertical):
    """Shown under the table while a row is expanded."""

    def compose(self) -> ComposeResult:
        yield Static(id="detail-text")
        with Horizontal(id="detail-spark-row"):
            yield Label(f"Deliveries, last {SPARK_MINUTES} min ", id="detail-spark-label")
            yield Sparkline([], id="detail-spark")
            yield Label("", id="detail-spark-total")

    def show(self, mta: Mta, here: int | None, deliveries: list[int] | None, everywhere: int) -> None:
        state = "Enabled" if mta.enabled else "Disabled"
        self.border_title = Text(f"▼ {safe_str(mta.description)} · {state}")  # Text: never markup
        self.query_one("#detail-text", Static).update(detail_text(mta, here, everywhere))
        spark = self.query_one("#detail-spark", Sparkline)
        total = self.query_one("#detail-spark-total", Label)
        if deliveries is None:
            spark.data = []
            total.update(Text(" (no worker here)", style="dim"))
        else:
            spark.data = [float(n) for n in deliveries] or [0.0]
            total.update(Text(f" {sum(deliveries)} in total"))
