"""Mail Settings, the first screen: MTAs, the master host name, the way to the queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from sqlalchemy.engine import Engine
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Static

from ertui import mtas, queue, settings
from ertui.delivery import slots
from ertui.mta_rules import host_port
from ertui.settings import HostName
from ertui.store.models import Mta
from ertui.tui.console import OFF, Console, console
from ertui.tui.dialogs.admin import AdminDialog
from ertui.tui.dialogs.confirm import ConfirmDialog
from ertui.tui.dialogs.host import HostDialog
from ertui.tui.dialogs.mta_form import MtaForm
from ertui.tui.dialogs.test_dialog import TestDialog
from ertui.tui.failures import FAILURES, sentence
from ertui.tui.lifecycle import gone
from ertui.tui.messages import DeliveryNotice
from ertui.tui.reads import Reads
from ertui.tui.safe import safe
from ertui.tui.screens.audit import AuditScreen
from ertui.tui.screens.queue import QueueScreen
from ertui.tui.screens.queue_filter import ViewFilter
from ertui.tui.widgets.mta_detail import SPARK_MINUTES, MtaDetail
from ertui.tui.widgets.mta_table import MtaTable
from ertui.tui.widgets.status_bar import Status, StatusBar
from ertui.tui.widgets.teardown import ConsoleHeader

REFRESH_SECONDS = 2.0
# deliveries can come by the hundred a second: refresh at most this often for them
DELIVERY_REFRESH_SECONDS = 0.5
NEEDS_MTA = {"edit_mta", "remove_mta", "test_mta", "toggle_enabled", "toggle_expand", "expand", "collapse"}


@dataclass(frozen=True)
class SettingsView:
    """Everything the screen shows, read from the store in one go."""

    mtas: list[Mta]
    host: HostName
    admin_email: str | None
    queue: dict[str, int]  # messages per status
    stalled: str | None  # why mail is not moving, if it is not
    connections: dict[int, int]  # open per MTA, by every worker on the store (slot leases)


def load_view(engine: Engine) -> SettingsView:
    stats = queue.stats(engine)
    return SettingsView(
        mtas=mtas.list_mtas(engine),
        host=settings.master_host(engine),
        admin_email=settings.admin_email(engine),
        queue=dict(stats.counts),
        stalled=stats.stalled_reason,
        connections=slots.leased(engine),
    )


class SettingsScreen(Screen[None]):
    TITLE = "Mail Settings"
    SUB_TITLE = "ertui"

    BINDINGS: ClassVar[list[BindingType]] = [
        # `?` is the App's too; bound here first so the footer shows it before the rest
        Binding("question_mark", "app.help", "Help", id="settings_help", tooltip="List every key of this screen"),
        Binding("a", "add_mta", "Add MTA", id="add_mta", tooltip="Add a new MTA"),
        Binding("e", "edit_mta", "Edit", id="edit_mta", tooltip="Edit the selected MTA"),
        Binding("delete", "remove_mta", "Remove", id="remove_mta", tooltip="Remove the selected MTA (asks first)"),
        Binding("t", "test_mta", "Test", id="test_mta", tooltip="Send a test email through the selected MTA"),
        Binding("space", "toggle_enabled", "On/Off", id="toggle_enabled", tooltip="Enable or disable the selected MTA"),
        Binding("m", "mail_queue", "Queue", id="mail_queue", tooltip="View the Mail Queue"),
        # written next to the host name ("h Edit Host"): out of the footer, so that
        # every other key fits whole in 80 columns
        Binding(
            "h",
            "edit_host",
            "Host",
            show=False,
            id="edit_host",
            tooltip="Edit the Master Server Host Name for Email Links",
        ),
        Binding("A", "admin", "Admin", id="admin", tooltip="Administrator: sender, From name, Reply-To"),
        Binding(
            "P",
            "delivery_policy",
            "Policy",
            show=False,
            id="delivery_policy",
            tooltip="Delivery policy: retry delays, lifetime, attempts",
        ),
        Binding("L", "audit_log", "Audit", show=False, id="audit_log", tooltip="The audit log: every settings change"),
        Binding("Q", "queue_shape", "Shape", show=False, id="queue_shape", tooltip="Queue shape: where mail waits"),
        Binding("l", "delivery_log", "Log", show=False, id="delivery_log", tooltip="The live delivery log"),
        Binding("D", "doctor", "Doctor", show=False, id="doctor", tooltip="Doctor: why is mail not going out?"),
        Binding(
            "q",
            "app.quit",
            "Quit",
            show=False,
            id="quit",
            tooltip="Quit the console (the worker finishes what it sends)",
        ),
    ]

    class Loaded(Message):
        def __init__(self, view: SettingsView | None, version: int) -> None:
            super().__init__()
            self.view = view
            self.version = version  # the screen's version when the read started

    def __init__(self, engine: Engine, view: SettingsView | None = None) -> None:
        """``view``: what the store held a moment ago, read in a thread while
        the console opened it (shown at once, then refreshed as usual)."""
        super().__init__()
        self.engine = engine
        self._first_view = view
        self.view: SettingsView | None = None
        self.expanded: int | None = None
        self._refresh_pending = False
        # a read in the background that started before reload() showed a newer
        # view is stale (a removed MTA would come back until the next refresh)
        self._version = 0
        self._reads = Reads(self._read_in_background, lambda: self._version, self.call_later)

    @property
    def ertui_app(self) -> Console | None:
        """The console's App (None under another App, e.g. a test's)."""
        return console(self.app)

    def compose(self) -> ComposeResult:
        yield ConsoleHeader()
        with Vertical(id="mta-section"):
            yield Static("List of Message Transfer Agents (MTA)", classes="section-title")
            yield MtaTable(id="mta-table")
            yield Static(id="mta-empty")
            yield MtaDetail(id="mta-detail")
        with Vertical(id="host-section"):
            yield Static("Master Server Host Name for Email Links", classes="section-title")
            yield Static(id="host-name")
            yield Static(id="host-warning")
        yield StatusBar(id="bottom-bar")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(MtaTable).focus()
        if self._first_view is not None:
            self.apply(self._first_view)
            self._first_view = None
        else:
            self.reload()
        self.set_interval(REFRESH_SECONDS, self.refresh_in_background)
        if self.ertui_app is not None:
            for name in ("worker_state", "extra_status"):
                self.watch(self.app, name, self._status_changed, init=False)

    # -- loading -----------------------------------------------------------
    def reload(self) -> None:
        """Read the store now and show it (after an action of the operator)."""
        if gone(self):
            return
        self._version += 1
        try:
            self.apply(load_view(self.engine))
        except FAILURES as exc:
            self.notify(sentence(exc), severity="error", markup=False)

    def refresh_in_background(self) -> None:
        """Read the store off the UI thread now, or after the read under way."""
        self._reads.ask()

    @work(thread=True, group="settings-refresh", exit_on_error=False)
    def _read_in_background(self, version: int) -> None:
        view = None
        try:
            view = load_view(self.engine)
        finally:  # a read that failed ends too (the view shown stays; the next poll tries again)
            self.post_message(self.Loaded(view, version))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if self._reads.done(message.version) and message.view is not None:
            self.apply(message.view)

    @on(DeliveryNotice)
    def _delivered(self) -> None:
        if not self._refresh_pending:
            self._refresh_pending = True
            self.set_timer(DELIVERY_REFRESH_SECONDS, self._refresh_after_deliveries)

    def _refresh_after_deliveries(self) -> None:
        self._refresh_pending = False
        self.refresh_in_background()

    def _status_changed(self, _value: object) -> None:
        if self.view is not None and not gone(self):
            self._show_status(self.view)

    def apply(self, view: SettingsView) -> None:
        if gone(self):
            return
        self.view = view
        ids = {m.id for m in view.mtas}
        if self.expanded not in ids:
            self.expanded = None
        table = self.query_one(MtaTable)
        table.show(view.mtas, self.expanded)
        table.display = bool(view.mtas)
        empty = self.query_one("#mta-empty", Static)
        empty.display = not view.mtas
        empty.update(Text("No MTA yet: press a to add one (the web console's +Add MTA)."))
        self._show_detail()
        self._show_host(view.host)
        self._show_status(view)
        self.refresh_bindings()

    def _show_detail(self) -> None:
        detail = self.query_one(MtaDetail)
        mta = self._mta(self.expanded)
        if detail.display != (mta is not None):
            detail.display = mta is not None
            self.query_one("#mta-section").set_class(mta is not None, "-expanded")
            table = self.query_one(MtaTable)
            # the list is shorter now: keep the selected MTA in view
            self.call_after_refresh(lambda: table.move_cursor(row=table.cursor_row, scroll=True))
        if mta is None or mta.id is None or self.view is None:
            return
        app = self.ertui_app
        worker = app.delivery if app is not None else None
        here: int | None = None
        deliveries: list[int] | None = None
        if worker is not None:
            here = worker.open_connections().get(mta.id, 0)
            deliveries = worker.recent_deliveries(mta.id, minutes=SPARK_MINUTES)
        detail.show(mta, here, deliveries, self.view.connections.get(mta.id, 0))

    def _show_host(self, host: HostName) -> None:
        line = safe(host.name, style="bold")
        if host.is_default:
            line.append("  (default: this host's name)", style="dim")
        line.append("   h Edit Host", style="dim")
        self.query_one("#host-name", Static).update(line)
        warning = self.query_one("#host-warning", Static)
        warning.display = host.problem is not None
        if host.problem is not None:
            warning.update(safe(f"⚠ {host.problem} Recovery links will not work: press h.", style="bold yellow"))

    def _show_status(self, view: SettingsView) -> None:
        app = self.ertui_app
        self.query_one(StatusBar).show(
            Status(
                worker_state=app.worker_state if app is not None else OFF,
                extra=app.extra_status if app is not None else "",
                mtas=len(view.mtas),
                enabled=sum(1 for m in view.mtas if m.enabled),
                admin_email=view.admin_email,
                stalled=view.stalled,
                counts=view.queue,
                connections=sum(view.connections.values()),
            )
        )

    # -- selection -----------------------------------------------------------
    def _mta(self, mta_id: int | None) -> Mta | None:
        if self.view is None or mta_id is None:
            return None
        return next((m for m in self.view.mtas if m.id == mta_id), None)

    def selected(self) -> Mta | None:
        return self._mta(self.query_one(MtaTable).current_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # not offered (footer, help, palette) while there is no MTA to act on
        return action not in NEEDS_MTA or not (gone(self) or not self.is_mounted or self.selected() is None)

    @on(MtaTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    @on(MtaTable.RowSelected)
    def _clicked_row(self) -> None:
        """A click on the highlighted row (Enter is the table's own binding)."""
        self.action_toggle_expand()

    def on_click(self, event: events.Click) -> None:
        if event.widget is not None and event.widget.id in ("host-name", "host-warning"):
            self.action_edit_host()

    # -- expand / collapse --------------------------------------------------
    def _set_expanded(self, mta_id: int | None) -> None:
        self.expanded = mta_id
        if self.view is not None:
            self.query_one(MtaTable).show(self.view.mtas, self.expanded)
            self._show_detail()

    def action_toggle_expand(self) -> None:
        mta = self.selected()
        if mta is not None:
            self._set_expanded(None if self.expanded == mta.id else mta.id)

    def action_expand(self) -> None:
        mta = self.selected()
        if mta is not None:
            self._set_expanded(mta.id)

    def action_collapse(self) -> None:
        self._set_expanded(None)

    # -- MTA actions ---------------------------------------------------------
    def _failed(self, exc: Exception) -> None:
        self.notify(sentence(exc), severity="error", timeout=10, markup=False)

    def action_add_mta(self) -> None:
        self.app.push_screen(MtaForm(self.engine), self._form_closed)

    def action_edit_mta(self) -> None:
        mta = self.selected()
        if mta is not None:
            self.app.push_screen(MtaForm(self.engine, mta), self._form_closed)

    def _form_closed(self, saved: str | None) -> None:
        self.reload()
        if saved:
            self.notify(saved, markup=False)

    def action_remove_mta(self) -> None:
        mta = self.selected()
        if mta is None or mta.id is None:
            return
        mta_id, name = mta.id, mta.description

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                mtas.remove(self.engine, mta_id)
            except FAILURES as exc:
                self._failed(exc)
                return
            self.reload()
            self.notify(f"MTA {name!r} removed.", markup=False)

        question = (
            f"Remove the MTA {name!r} ({host_port(mta.host, mta.port)})?\n"
            "Mail is then distributed over the other enabled MTAs."
        )
        self.app.push_screen(ConfirmDialog(question, title="Remove MTA", yes="Remove"), answered)

    def action_test_mta(self) -> None:
        mta = self.selected()
        if mta is None:
            return
        try:
            config = mtas.config_for(mta)
        except FAILURES as exc:
            self._failed(exc)
            return
        self.app.push_screen(TestDialog(self.engine, config), lambda _: self.reload())

    def action_toggle_enabled(self) -> None:
        mta = self.selected()
        if mta is None or mta.id is None:
            return
        try:
            row = mtas.set_enabled(self.engine, mta.id, not mta.enabled)
        except FAILURES as exc:
            self._failed(exc)
            return
        self.reload()
        state = "enabled" if row.enabled else "disabled"
        self.notify(f"MTA {row.description!r} {state}.", markup=False)

    # -- host, admin, queue --------------------------------------------------
    def action_edit_host(self) -> None:
        def closed(name: str | None) -> None:
            self.reload()
            if name:
                self.notify(f"Master Server Host Name set to {name}.", markup=False)

        self.app.push_screen(HostDialog(self.engine), closed)

    def action_admin(self) -> None:
        def closed(saved: str | None) -> None:
            self.reload()
            if saved:
                self.notify(saved, markup=False)

        self.app.push_screen(AdminDialog(self.engine), closed)

    def action_delivery_policy(self) -> None:
        from ertui.tui.dialogs.policy import PolicyDialog

        def closed(saved: str | None) -> None:
            if saved:
                self.notify(saved, markup=False)

        self.app.push_screen(PolicyDialog(self.engine), closed)

    @on(Button.Pressed, "#queue-button")
    def _queue_pressed(self) -> None:
        self.action_mail_queue()

    def action_mail_queue(self) -> None:
        self.app.push_screen(QueueScreen(self.engine))

    def action_audit_log(self) -> None:
        self.app.push_screen(AuditScreen(self.engine))

    def action_queue_shape(self) -> None:
        from ertui.tui.screens.shape import ShapeScreen

        def open_queue(view: ViewFilter) -> None:
            self.app.push_screen(QueueScreen(self.engine, view=view))

        self.app.push_screen(ShapeScreen(self.engine, open_queue))

    def action_delivery_log(self) -> None:
        from ertui.tui.screens.delivery_log import DeliveryLogScreen

        self.app.push_screen(DeliveryLogScreen(self.engine))

    def action_doctor(self) -> None:
        from ertui.tui.dialogs.doctor import DoctorDialog

        self.app.push_screen(DoctorDialog(self.engine))

    def on_screen_resume(self) -> None:
        if self.view is not None:
            self.reload()
