"""The delivery worker runs behind the console: deliveries show up live, `p` pauses
and resumes it, quitting stops it gracefully."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from ertui import mtas, queue
from ertui.store.models import MessageKind
from ertui.tui.app import ErtuiApp
from ertui.tui.console import PAUSED, RUNNING
from tests.smtpd import SmtpServer
from tests.tui.conftest import make_app
from tests.tui.helpers import static_text, wait_for


async def test_worker_delivers_live_pauses_resumes_and_stops(store: Engine, smtp_server: SmtpServer) -> None:
    mtas.add(store, description="Relay", host="127.0.0.1", port=smtp_server.port)
    queue.enqueue(store, "one@example.com", "first", "body", MessageKind.NOTIFICATION)
    app = make_app(store, start_worker=True)
    assert isinstance(app, ErtuiApp)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.worker_state == RUNNING
        assert "Worker running (p)" in static_text(app, "#status-line")
        await wait_for(pilot, lambda: len(smtp_server.received) == 1, tries=500)
        await pilot.press("enter")  # details: the worker's live numbers
        await wait_for(pilot, lambda: "1 in total" in static_text(app, "#detail-spark-total"))
        await wait_for(pilot, lambda: "Messages sent: 1" in static_text(app, "#detail-text"))

        def footer_p() -> list[str]:
            keys = app.screen.query_one(Footer).children
            return [k.description for k in keys if isinstance(k, FooterKey) and k.key == "p"]

        await wait_for(pilot, lambda: footer_p() == ["Pause"])
        await pilot.press("p")
        assert app.worker_state == PAUSED
        assert app.delivery is not None and app.delivery.paused
        assert "Worker paused (p)" in static_text(app, "#status-line")
        await wait_for(pilot, lambda: footer_p() == ["Resume"])  # what p does now
        await pilot.press("p")
        assert app.worker_state == RUNNING
        await wait_for(pilot, lambda: footer_p() == ["Pause"])
        assert not app.delivery.paused
        queue.enqueue(store, "two@example.com", "second", "body", MessageKind.NOTIFICATION)
        await wait_for(pilot, lambda: len(smtp_server.received) == 2, tries=500)

        task = app._delivery_task
        await pilot.press("q")
        await wait_for(pilot, lambda: app.delivery is None, tries=500)
        assert task is not None and task.is_finished
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == ["one@example.com", "two@example.com"]


async def test_status_extra_is_shown_and_refreshed(store: Engine) -> None:
    calls: list[int] = []

    def extra() -> str:
        calls.append(1)
        return f"Demo sink received {len(calls)} messages"

    app = make_app(store, status_extra=extra)
    async with app.run_test(size=(100, 30)) as pilot:
        assert "Demo sink received 1 messages" in static_text(app, "#status-line")
        app._refresh_extra()
        await pilot.pause()
        assert "Demo sink received 2 messages" in static_text(app, "#status-line")
        # a line of its own: never cut in two by the wrap of the status line
        assert "Demo sink received 2 messages" in static_text(app, "#status-line").splitlines()


async def test_p_without_a_worker_says_so(store: Engine) -> None:
    app = make_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("p")
        await pilot.pause()
        assert app.worker_state == "off"
        assert "Worker off" in static_text(app, "#status-line")


async def test_a_crashed_worker_is_reported_not_fatal(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: object, once: bool = False) -> None:
        raise RuntimeError("store [vanished]")

    monkeypatch.setattr("ertui.delivery.worker.Worker.run", broken)
    app = make_app(store, start_worker=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.worker_state == "stopped")
        assert "Worker stopped" in static_text(app, "#status-line")
        messages = [n.message for n in app._notifications]
        assert "The delivery worker stopped: store [vanished]" in messages
        await pilot.press("p")  # nothing to pause: says so, no crash
        await pilot.pause()
        assert app.worker_state == "stopped"
