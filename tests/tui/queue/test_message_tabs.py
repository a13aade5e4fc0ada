"""The message view's tabs: Summary · Attempts · Headers · Raw, switched by 1–4;
Headers and Raw show the bytes the worker sends, a reset token masked, never the
live one on any tab."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import Engine
from textual.app import App
from textual.widgets import DataTable, Static, TabbedContent

from ertui import queue, recovery, render, users
from ertui.store import sealed
from ertui.tui.screens.message import MessageScreen
from tests.tui.conftest import FIXED_NOW
from tests.tui.helpers import wait_for
from tests.tui.queue.conftest import QueueApp, add_attempt
from tests.tui.queue.test_queue_screen import settle

LINK = re.compile(rb"reset-password\?token=([A-Za-z0-9_-]+)")


class MessageApp(App[None]):
    def __init__(self, engine: Engine, message_id: int) -> None:
        super().__init__()
        self.engine = engine
        self.message_id = message_id
        self.animation_level = "none"

    def on_mount(self) -> None:
        self.push_screen(MessageScreen(self.engine, self.message_id, poll_seconds=None))


def shown(app: App[Any], selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def active(app: App[Any]) -> str:
    return app.screen.query_one("#message-tabs", TabbedContent).active


async def test_keys_1_to_4_switch_tabs_and_raw_is_the_stored_bytes(store: Engine) -> None:
    [mid] = queue.enqueue(store, ["ops@example.net"], "Grüße [bold]x[/bold]", "Line one\nLine \x1b[31mtwo\n")
    add_attempt(store, mid, outcome="deferred", code=451, text="451 busy", duration_ms=12, started_at=FIXED_NOW)
    raw = bytes(queue.get_message(store, mid).raw)
    async with MessageApp(store, mid).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert active(pilot.app) == "summary" and "ops@example.net" in pilot.app.export_screenshot()
        await pilot.press("2")
        assert active(pilot.app) == "attempts"
        assert pilot.app.screen.query_one("#message-attempts", DataTable).has_focus
        tabs = pilot.app.screen.query_one("#message-tabs", TabbedContent)
        assert str(tabs.get_tab("attempts").label) == "Attempts (1)"
        await pilot.press("3")
        assert active(pilot.app) == "headers"
        headers = shown(pilot.app, "#message-headers")
        assert headers == render.header_block(raw).decode().replace("\r\n", "\n")
        assert "Subject: =?utf-8?" in headers and "Line one" not in headers
        await pilot.press("4")
        assert active(pilot.app) == "raw"
        text = shown(pilot.app, "#message-raw")
        assert text.startswith(headers) and text == raw.decode().replace("\r\n", "\n").replace("\x1b", "\\x1b")
        assert "Line \\x1b[31mtwo" in text and "\x1b" not in pilot.app.export_screenshot()  # shown escaped
        await pilot.press("1")
        assert active(pilot.app) == "summary"
        assert "\\x1b[31mtwo" in shown(pilot.app, "#message-body")  # escapes shown as text


async def test_a_recovery_token_is_masked_on_every_tab(store: Engine) -> None:
    users.add_user(store, "dave", email="dave@example.net")
    req = recovery.request_recovery(store, "dave")
    assert req.message_id is not None
    live = LINK.search(sealed.open_raw(queue.get_message(store, req.message_id).raw))
    assert live is not None
    token = live.group(1).decode()
    async with QueueApp(store).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, MessageScreen) and pilot.app.screen.msg is not None)
        screens = []
        for key in "1234":
            await pilot.press(key)
            await pilot.pause()
            screens.append(pilot.app.export_screenshot())
        assert f"token={token[:4]}…" in shown(pilot.app, "#message-body")
        raw = shown(pilot.app, "#message-raw")
        assert f"token=3D{token[:4]}=E2=80=A6" in raw  # the masked bytes, quoted-printable as sent
        assert "Subject:" in shown(pilot.app, "#message-headers")
        for screen in screens:
            assert token not in screen and token[:12] not in screen
        assert token[:12] not in raw


def test_source_text_escapes_controls_and_bytes_that_are_not_utf8() -> None:
    from ertui.tui.screens.message import source_text

    text = source_text(b"Subject: x\r\n\r\nA\x07\xff\x1b]0;t\x07\r\n")
    assert text.plain == "Subject: x\n\nA\\x07\\xff\\x1b]0;t\\x07\n"
