"""A read of the store off the UI thread that ends late never shows over a
newer view (``ertui.tui.reads``): a removed MTA does not come back in Mail
Settings, and Queue shape does not show domain rows under "mta" after `b`.

Each test holds its first background read after it has read the store (as a
slow store would), changes the view meanwhile, then lets it end."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from textual.pilot import Pilot

from ertui import mtas, queue, queue_shape
from ertui.tui.screens import settings as settings_screen
from ertui.tui.screens.settings import SettingsScreen
from ertui.tui.screens.shape import ShapeScreen
from tests.tui.conftest import make_app
from tests.tui.helpers import table_rows, wait_for
from tests.tui.test_troubleshooting import Host


class Held:
    """Wraps a read: its first call off the UI thread reads, then waits for ``release``."""

    def __init__(self, read: Callable[..., Any]) -> None:
        self.read = read
        self.reading = threading.Event()  # the held read has read the store
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = self.read(*args, **kwargs)
        if threading.current_thread() is not threading.main_thread():
            self.calls += 1
            if self.calls == 1:
                self.reading.set()
                assert self.release.wait(30)
        return result


async def settled(pilot: Pilot[Any]) -> None:
    """Every read ended, and any read one of them started."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def test_a_refresh_read_before_a_removal_does_not_bring_the_mta_back(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    mtas.add(store, description="Old relay", host="old.example.com", port=25)
    held = Held(settings_screen.load_view)
    monkeypatch.setattr(settings_screen, "load_view", held)
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, SettingsScreen)
        await wait_for(pilot, lambda: len(table_rows(pilot.app)) == 1)
        screen.refresh_in_background()
        await wait_for(pilot, held.reading.is_set)  # it has read "Old relay"
        mtas.remove(store, "Old relay")
        screen.reload()  # what an action does: read now, on the UI thread
        assert table_rows(pilot.app) == []
        held.release.set()
        await settled(pilot)
        assert table_rows(pilot.app) == []  # the late read was dropped and read again


async def test_shape_shows_the_rows_of_the_view_asked_for_last(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    queue.enqueue(store, ["a@one.example", "b@two.example"], "Report", "Body")
    held = Held(queue_shape.shape)
    monkeypatch.setattr(queue_shape, "shape", held)
    opened: list[Any] = []
    async with Host(lambda: ShapeScreen(store, opened.append, refresh_seconds=60)).run_test(size=(100, 30)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, ShapeScreen)
        await wait_for(pilot, held.reading.is_set)  # the first read, by domain, has read
        await pilot.press("b")  # by MTA, while it is held
        held.release.set()
        await settled(pilot)
        assert screen.keys[1:] == ["(none yet)"]  # never tried: no MTA, not the domains
        assert str(next(iter(screen.query_one("DataTable").columns.values())).label) == "mta"  # type: ignore[attr-defined]
        await pilot.press("down", "enter")
        assert [(v.status, v.domain, v.mta) for v in opened] == [("unsent", "", "")]  # "(none yet)": the status alone
