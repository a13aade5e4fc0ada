"""The console's Test dialog against a server that echoes the password back
(in clear and as the base64 of AUTH PLAIN): the steps, the result and the
transcript on the screen quote the server without the password."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from ertui import mtas
from tests.smtp.hostile import ECHO_535, PASSWORD, SECRET_FORMS, USER, hostile_server
from tests.tui.conftest import make_app
from tests.tui.helpers import static_text
from tests.tui.test_test_dialog import _run


async def test_the_test_dialog_shows_no_echoed_password(store: Engine) -> None:
    with hostile_server({"AUTH": ECHO_535}) as srv:
        mtas.add(store, description="Echo", host="127.0.0.1", port=srv.port, username=USER, password=PASSWORD)
        async with make_app(store).run_test(size=(100, 30)) as pilot:
            await pilot.press("t")
            result, transcript = await _run(pilot)
            steps = static_text(pilot.app, "#test-steps")
    shown = "\n".join((steps, result, transcript))
    assert "you sent <redacted>" in steps  # the auth step quotes the server…
    assert [form for form in SECRET_FORMS if form in shown] == []  # …without the password
