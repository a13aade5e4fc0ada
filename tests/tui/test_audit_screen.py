"""The console's settings changes in the audit log, once each, as the console's,
with no secret; the Audit screen (L on Mail Settings) shows them."""

from __future__ import annotations

import getpass

from sqlalchemy import update
from sqlalchemy.engine import Engine
from textual.widgets import DataTable

from ertui import actor, audit, mtas, queue
from ertui.store.models import Message
from ertui.tui.dialogs.mta_form import MtaForm
from ertui.tui.screens.audit import AuditScreen
from ertui.tui.screens.help import HelpScreen
from ertui.tui.screens.queue import QueueScreen
from ertui.tui.screens.settings import SettingsScreen
from tests.tui.conftest import make_app
from tests.tui.helpers import type_into, wait_for

SECRETS = ("first-Secret-pw", "second-Secret-pw")


async def test_each_console_change_is_audited_once_and_shown(store: Engine) -> None:
    actor.set_front_end("api")
    before = {e.id for e in audit.entries(store)}
    T = Message.__table__  # type: ignore[attr-defined]
    ids = queue.enqueue_batch(store, [(f"u{i}@example.com", "s", "b") for i in range(2)])
    with store.begin() as conn:
        conn.execute(update(T).where(T.c.id == ids[1]).values(status="failed"))
    async with make_app(store).run_test(size=(120, 40)) as pilot:
        # add, with a password
        await pilot.press("a")
        await type_into(pilot, "#description", "Relay")
        await type_into(pilot, "#host", "smtp.example.com")
        pilot.app.screen.query_one("#use_auth").focus()
        await pilot.press("space")
        await type_into(pilot, "#username", "alice")
        await type_into(pilot, "#password", SECRETS[0])
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen) and mtas.list_mtas(store))
        # edit: the host and the password
        await pilot.press("e")
        assert isinstance(pilot.app.screen, MtaForm)
        await type_into(pilot, "#host", "smtp2.example.com")
        await type_into(pilot, "#password", SECRETS[1])
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen))
        # disable, enable
        await pilot.press("space")
        await wait_for(pilot, lambda: not mtas.get(store, "Relay").enabled)
        await pilot.press("space")
        await wait_for(pilot, lambda: mtas.get(store, "Relay").enabled)
        # host name, administrator
        await pilot.press("h")
        await type_into(pilot, "#host-input", "mail.example.org")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen))
        await pilot.press("A")
        await type_into(pilot, "#admin-email", "ops@example.com")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen))
        # a queue action
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, QueueScreen))
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("R")  # retry every failed message
        await wait_for(pilot, lambda: queue.get_message(store, ids[1]).status == "queued")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen))
        # remove
        await pilot.press("delete", "y")
        await wait_for(pilot, lambda: not mtas.list_mtas(store))
        new = [e for e in audit.entries(store) if e.id not in before]
        # the Audit screen, from Mail Settings, in help too
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        assert ("L", "Audit", "The audit log: every settings change") in pilot.app.screen.rows
        await pilot.press("escape")
        await pilot.press("L")
        assert isinstance(pilot.app.screen, AuditScreen)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        table = pilot.app.screen.query_one("#audit-table", DataTable)
        shown = [str(c) for r in range(table.row_count) for c in table.get_row_at(r)]
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, SettingsScreen)
    actions = sorted(e.action for e in new)
    assert actions == sorted(
        [
            "mta.add",
            "mta.edit",
            "mta.disable",
            "mta.enable",
            "host.set",
            "admin.set",
            "queue.retry_all_failed",
            "mta.remove",
        ]
    )
    assert {(e.front_end, e.os_user) for e in new} == {("console", getpass.getuser())}
    edit = next(e for e in new if e.action == "mta.edit")
    assert "host: 'smtp.example.com' → 'smtp2.example.com'" in edit.detail and "password changed" in edit.detail
    assert next(e for e in new if e.action == "queue.retry_all_failed").detail == "1 message(s)"
    for e in new:
        assert not any(s in e.detail for s in SECRETS)
    assert table.row_count == len(audit.entries(store))
    assert "mta.edit" in shown and "console" in shown
    assert not any(s in cell for s in SECRETS for cell in shown)
