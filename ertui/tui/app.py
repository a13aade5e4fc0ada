"""The console App: the Mail Settings screen first, the delivery worker behind it."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.worker import Worker as TextualWorker
from textual.worker import WorkerState

from ertui import actor
from ertui.termsafe import terminal_safe
from ertui.tui.commands import ErtuiCommands
from ertui.tui.console import OFF, PAUSED, RUNNING, STOPPED
from ertui.tui.messages import DeliveryNotice, DeliveryStateChanged
from ertui.tui.opening import Opened, StoreOpener, open_in_background
from ertui.tui.screens.help import HelpScreen
from ertui.tui.screens.loading import LoadingScreen
from ertui.tui.styles import stylesheet_path

# Nothing of the store (SQLAlchemy, SQLModel, the services, the worker) is
# imported before the first frame: `ertui` draws LoadingScreen, then opens the
# store in a thread (ertui.tui.opening), which imports them there.
if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ertui.tui.core import DeliveryEvent, Worker

STOP_GRACE_SECONDS = 10.0
EXTRA_REFRESH_SECONDS = 2.0
QUIT_KEYS = frozenset({"q", "ctrl+q"})  # act at once, even while the store opens


class ErtuiApp(App[None]):
    TITLE = "ertui"
    SUB_TITLE = ""
    CSS_PATH = stylesheet_path()
    COMMANDS = App.COMMANDS | {ErtuiCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="help", tooltip="List every key of this screen"),
        Binding("f1", "help", "Help", show=False, id="help_f1", tooltip="List every key of this screen"),
        # Naming command_palette here stops Textual adding ctrl+p itself: bind both.
        Binding(
            "ctrl+p",
            "command_palette",
            "Commands",
            show=False,
            priority=True,
            id="palette_ctrl_p",
            tooltip="Run any action by name",
        ),
        Binding("colon", "command_palette", "Commands", show=False, id="palette", tooltip="Run any action by name"),
        # Textual's own ctrl+q, with our words (help shows it on one row with q)
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            show=False,
            priority=True,
            id="quit_ctrl_q",
            tooltip="Quit the console (the worker finishes what it sends)",
        ),
        # one key, two bindings: check_action leaves the one that says what p does now
        Binding("p", "pause_worker", "Pause", id="toggle_worker", tooltip="Pause the background delivery worker"),
        Binding("p", "resume_worker", "Resume", id="resume_worker", tooltip="Resume the background delivery worker"),
    ]

    worker_state: reactive[str] = reactive(OFF)
    extra_status: reactive[str] = reactive("")

    def __init__(
        self,
        store: Engine | StoreOpener,
        *,
        start_worker: bool = True,
        status_extra: Callable[[], str] | None = None,
    ) -> None:
        """``store``: an open engine (the demo, the tests: Mail Settings is the
        first screen), or a function that opens one (`ertui`: the first frame
        says "Opening the store…", the function runs in a thread, then Mail
        Settings shows what it read there)."""
        super().__init__()
        self._engine: Engine | None = None
        self._opener: StoreOpener | None = None
        if callable(store):
            self._opener = store
        else:
            self._engine = store
        self.open_error: BaseException | None = None  # opening failed: run() raises it after the console closed
        self.open_warnings: list[str] = []  # said while opening: run() prints them too
        self.start_worker = start_worker
        self.status_extra = status_extra
        self.delivery: Worker | None = None
        self._delivery_task: TextualWorker[None] | None = None
        self.closing = False  # quit was asked: the screens are being torn down
        self._changing_screen = 0  # screen changes not yet drawn
        self._held_keys: list[events.Key] = []  # typed during a change, in order

    # -- keys during a screen change ------------------------------------------
    # A key that arrives while a screen or dialog is being built or torn down
    # (typed ahead over SSH: `q` then `e`, `e` then Esc then `e`) would act on a
    # screen that is half there: it waits until the new screen is drawn, then
    # goes to it, in the order typed. After quit, every key is dropped; so is a
    # click during a change (it was aimed at what was on the screen before).
    def _screen_changed(self, _screen: object) -> None:
        self._changing_screen += 1
        # two refreshes: the screen's own, then its widgets' (a Header sets its
        # title after its first refresh; dismissed before that, it crashes)
        self.call_after_refresh(lambda: self.call_after_refresh(self._screen_settled))

    def _screen_settled(self) -> None:
        self._changing_screen = max(0, self._changing_screen - 1)
        if self._changing_screen or not self._held_keys:
            return
        if self.input_blocked():  # still not mounted: look again after the next refresh
            self._changing_screen += 1
            self.call_after_refresh(self._screen_settled)
            return
        held, self._held_keys = self._held_keys, []
        for key in held:
            self.post_message(events.Key(key.key, key.character))

    @property
    def exiting(self) -> bool:
        """Quit was asked (our action, or Textual's exit)."""
        return self.closing or self._exit

    def input_blocked(self) -> bool:
        """True while an input event must not reach a screen."""
        if self.exiting or self._changing_screen or not self.screen_stack:
            return True
        return not self.screen.is_mounted

    async def on_event(self, event: events.Event) -> None:
        # (a key comes here twice: from the terminal, then bubbling up from the
        # focused widget to the App's bindings; it is held or dropped at either)
        if isinstance(event, (events.Key, events.MouseEvent)):
            if self.exiting:
                event.stop()
                return
            if self.loading and isinstance(event, events.Key) and event.key not in QUIT_KEYS:
                # typed ahead while the store opens (`m` for the queue): kept for
                # Mail Settings, given to it once it is drawn (_screen_settled)
                event.stop()
                self._held_keys.append(event)
                return
            if self.input_blocked() or (isinstance(event, events.Key) and self._held_keys):
                event.stop()
                if isinstance(event, events.Key):
                    self._held_keys.append(event)
                    if not self._changing_screen:
                        self._changing_screen += 1
                        self.call_after_refresh(self._screen_settled)
                return
        await super().on_event(event)

    @property
    def engine(self) -> Engine:
        """The store's engine (an AttributeError while it is being opened)."""
        if self._engine is None:
            raise AttributeError("the store is not open yet")
        return self._engine

    @property
    def loading(self) -> bool:
        """The store is still being opened (LoadingScreen is shown)."""
        return self._engine is None

    def on_mount(self) -> None:
        actor.set_front_end("console")  # every settings change from here is audited as the console's
        self.screen_change_signal.subscribe(self, self._screen_changed)
        if self._opener is None:
            from ertui.tui.screens.settings import SettingsScreen

            self.push_screen(SettingsScreen(self.engine))
            self._store_ready()
            return
        self.push_screen(LoadingScreen())
        # the thread starts once the first frame is drawn, not competing with it
        opener = self._opener
        self.call_after_refresh(lambda: open_in_background(opener, self.post_message))

    @on(Opened)
    def _opened(self, message: Opened) -> None:
        self.open_warnings = message.warnings
        if message.error is not None:
            # the same sentence as before the console drew anything: run() raises
            # it once the terminal is back, and the CLI says it as for any command
            self.open_error = message.error
            self.exit()
            return
        if self.closing or message.engine is None:
            return
        from ertui.tui.screens.settings import SettingsScreen  # imported already, by the thread

        self._engine = message.engine
        self.switch_screen(SettingsScreen(message.engine, view=message.view))
        for warning in message.warnings:
            self.notify(warning, title="Store", severity="warning", timeout=20, markup=False)
        self._store_ready()

    def _store_ready(self) -> None:
        if self.status_extra is not None:
            self._refresh_extra()
            self.set_interval(EXTRA_REFRESH_SECONDS, self._refresh_extra)
        if self.start_worker:
            self._start_delivery()

    # -- the status_extra hook (demo) -------------------------------------
    def _refresh_extra(self) -> None:
        if self.status_extra is None:
            return
        try:
            self.extra_status = self.status_extra()
        except Exception as exc:  # a demo hook must never take the console down
            self.extra_status = f"({type(exc).__name__})"

    # -- the delivery worker ----------------------------------------------
    def _start_delivery(self) -> None:
        from ertui.tui.core import make_worker

        self.delivery = make_worker(self.engine, self._on_delivery_event)
        self.worker_state = RUNNING
        self._delivery_task = self._run_delivery()

    @work(exclusive=True, group="delivery", name="delivery", exit_on_error=False)
    async def _run_delivery(self) -> None:
        assert self.delivery is not None
        await self.delivery.run()

    def _on_delivery_event(self, event: DeliveryEvent) -> None:
        # Called by the worker (maybe from another thread): hand over as a message.
        self.post_message(DeliveryNotice(event))

    @on(DeliveryNotice)
    def _forward_delivery(self, message: DeliveryNotice) -> None:
        for screen in self.screen_stack:
            screen.post_message(DeliveryNotice(message.event))

    def on_worker_state_changed(self, event: TextualWorker.StateChanged) -> None:
        if event.worker.name != "delivery":
            return
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.post_message(DeliveryStateChanged(STOPPED))
            self.notify(
                f"The delivery worker stopped: {error}",
                title="Delivery worker",
                severity="error",
                timeout=15,
                markup=False,
            )
        elif event.state in (WorkerState.SUCCESS, WorkerState.CANCELLED):
            self.post_message(DeliveryStateChanged(STOPPED))

    @on(DeliveryStateChanged)
    def _set_worker_state(self, message: DeliveryStateChanged) -> None:
        self.worker_state = message.state

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pause_worker":
            return self.worker_state != PAUSED
        if action == "resume_worker":
            return self.worker_state == PAUSED
        return True

    def watch_worker_state(self) -> None:
        self.refresh_bindings()

    def action_pause_worker(self) -> None:
        self.action_toggle_worker()

    def action_resume_worker(self) -> None:
        self.action_toggle_worker()

    def action_toggle_worker(self) -> None:
        if self.delivery is None or self.worker_state not in (RUNNING, PAUSED):
            reason = "is off in this console" if self.worker_state == OFF else (f"is {self.worker_state}")
            self.notify(f"The delivery worker {reason}.", severity="warning")
            return
        if self.delivery.paused:
            self.delivery.resume()
            self.worker_state = RUNNING
            self.notify("Delivery worker resumed.")
        else:
            self.delivery.pause()
            self.worker_state = PAUSED
            self.notify("Delivery worker paused: nothing is sent until you press p again.")

    async def stop_delivery(self) -> None:
        """Ask the worker to finish what it is sending, then wait a little for it."""
        if self.delivery is None:
            return
        self.delivery.request_stop()
        task = self._delivery_task
        if task is not None and task.state in (WorkerState.PENDING, WorkerState.RUNNING):
            self.notify("Stopping the delivery worker: it finishes what it is sending…", timeout=STOP_GRACE_SECONDS)
            try:
                await asyncio.wait_for(task.wait(), STOP_GRACE_SECONDS)
            except Exception:  # timeout, failure or cancellation: we are leaving anyway
                task.cancel()
        self.delivery = None

    async def action_quit(self) -> None:
        if self.closing:
            return
        self.closing = True
        await self.stop_delivery()
        self.exit()

    async def on_unmount(self) -> None:
        if self.delivery is not None:
            self.delivery.request_stop()

    # -- notifications ---------------------------------------------------------
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast, from every screen: text from outside in it (a description,
        a server's reply, an exception's text) is made terminal-safe here, once."""
        super().notify(
            terminal_safe(message, keep_newlines=True),
            title=terminal_safe(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    # -- help ----------------------------------------------------------------
    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))


def run(store: Engine | StoreOpener, *, status_extra: Callable[[], str] | None = None) -> None:
    """Open the console on ``store`` (an engine, or a function that opens one)
    until the operator quits. A failure to open the store is raised here, after
    the console has given the terminal back."""
    # shutil.get_terminal_size (used by Textual's driver) prefers COLUMNS/LINES
    # over the real terminal, and would freeze the size across resizes.
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)
    app = ErtuiApp(store, status_extra=status_extra)
    app.run()
    for warning in app.open_warnings:
        print(f"ertui: warning: {terminal_safe(warning)}", file=sys.stderr)
    if app.open_error is not None:
        raise app.open_error
