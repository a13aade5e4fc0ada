"""`ertui`'s first frame comes before the store: the App draws "Opening the
store…" (no SQLAlchemy loaded for it), opens the store in a thread, then shows
Mail Settings with what it read; keys typed meanwhile wait for Mail Settings;
a store that cannot be opened is raised by ``run`` once the console is closed."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from textual.pilot import Pilot

from ertui import mtas
from ertui.errors import StoreError
from ertui.tui.app import ErtuiApp
from ertui.tui.screens.loading import LOADING_TEXT, LoadingScreen
from ertui.tui.screens.queue import QueueScreen
from ertui.tui.screens.settings import SettingsScreen
from tests.tui.helpers import static_text, table_rows, wait_for

STORE_CODE = {"sqlalchemy", "sqlmodel", "alembic", "aiosmtplib", "email_validator", "cryptography"}


def test_the_console_and_its_first_screen_load_no_store_code() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import ertui.tui.app"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    names = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "textual" in names and "ertui" in names
    assert not names & STORE_CODE


class GatedOpener:
    """Opens the store only when the test lets it (as a slow store would)."""

    def __init__(self, engine: Engine | None = None, error: Exception | None = None) -> None:
        self.engine, self.error = engine, error
        self.gate = threading.Event()
        self.calls = 0

    def __call__(self) -> Engine:
        self.calls += 1
        assert self.gate.wait(20), "the test never opened the gate"
        if self.error is not None:
            raise self.error
        assert self.engine is not None
        return self.engine


async def settle(pilot: Pilot[None]) -> None:
    """Let the new screen's loaders finish and its widgets refresh."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def make(opener: GatedOpener) -> ErtuiApp:
    app = ErtuiApp(opener, start_worker=False)
    app.animation_level = "none"
    return app


async def test_the_first_frame_says_loading_then_mail_settings_fills_in(engine: Engine) -> None:
    mtas.add(engine, description="Relay one", host="127.0.0.1", port=587)
    opener = GatedOpener(engine)
    app = make(opener)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: opener.calls == 1)
        await pilot.pause(0.1)
        assert isinstance(app.screen, LoadingScreen)  # drawn, and still waiting for the store
        assert static_text(app, "#loading-text") == LOADING_TEXT
        assert app.loading and app.delivery is None
        with pytest.raises(AttributeError):
            _ = app.engine
        opener.gate.set()
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await wait_for(pilot, lambda: app.screen.is_mounted and bool(table_rows(app)))
        assert "Relay one" in " ".join(table_rows(app)[0])
        assert app.engine is engine and not app.loading
        await settle(pilot)


async def test_a_key_typed_while_the_store_opens_goes_to_mail_settings(engine: Engine) -> None:
    opener = GatedOpener(engine)
    app = make(opener)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: opener.calls == 1)
        await pilot.press("m")  # the Mail Queue, asked for before Mail Settings is there
        await pilot.pause(0.1)
        assert isinstance(app.screen, LoadingScreen)
        opener.gate.set()
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen))
        await settle(pilot)  # (a Header torn down before its first refresh crashes Textual)


async def test_q_quits_while_the_store_is_still_opening(engine: Engine) -> None:
    opener = GatedOpener(engine)
    app = make(opener)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: opener.calls == 1)
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)
    opener.gate.set()
    assert app.open_error is None


async def test_a_store_that_cannot_be_opened_ends_the_console_with_its_error() -> None:
    failure = StoreError("The folder /nowhere of the store file x.db does not exist; create it first.")
    opener = GatedOpener(error=failure)
    opener.gate.set()
    app = make(opener)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: not app.is_running)
    assert app.open_error is failure


async def test_a_fault_while_reading_the_first_view_ends_the_console_too(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_engine: Engine) -> None:
        raise RuntimeError("a fault in reading Mail Settings")

    monkeypatch.setattr("ertui.tui.screens.settings.load_view", broken)
    opener = GatedOpener(engine)
    opener.gate.set()
    app = make(opener)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: not app.is_running)
    assert isinstance(app.open_error, RuntimeError)


async def test_a_store_file_readable_by_others_is_warned_about_in_the_console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ertui import config
    from ertui.store.engine import make_engine

    monkeypatch.setattr(config, "_warned", set())
    path = tmp_path / "shared.db"
    make_engine(str(path)).dispose()
    path.chmod(0o644)
    opened: list[Engine] = []

    def open_shared() -> Engine:
        opened.append(make_engine(str(path)))
        return opened[-1]

    app = ErtuiApp(open_shared, start_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await settle(pilot)
        shown = [str(n.message) for n in app._notifications]
    assert any("readable by everyone" in text and str(path) in text for text in shown), shown
    # kept for run() to print once the terminal is back (Textual held stderr meanwhile)
    assert any("readable by everyone" in text for text in app.open_warnings)
    opened[0].dispose()
