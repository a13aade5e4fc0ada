"""Health of an MTA that answered but accepted nothing (issue 11, item 20): the
list says when it was last in contact, the details say with what result."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from ertui import mtas
from tests.tui.conftest import FIXED_NOW, make_app
from tests.tui.helpers import static_text, table_rows


async def test_an_mta_that_refused_a_message_is_not_never_used(store: Engine) -> None:
    relay = mtas.add(store, description="Relay", host="smtp.example.com", port=25)
    assert relay.id is not None
    reply = "550 5.1.1 no such user \x1b[2J"  # from outside: shown safe
    with store.begin() as conn:  # what the worker writes for its batch
        mtas.write_contacts(conn, {relay.id: mtas.Contact(FIXED_NOW - timedelta(minutes=4), reply)})
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert table_rows(pilot.app)[0][7] == "· 4 min ago"
        await pilot.press("enter")
        text = static_text(pilot.app, "#detail-text")
        assert "Last contact: " in text and "550 5.1.1 no such user \\x1b[2J" in text
        assert "\x1b" not in text
