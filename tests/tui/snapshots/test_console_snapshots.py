"""Every screen and dialog of the Mail Settings side, at 100×30 and 80×24."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from textual.pilot import Pilot

from ertui.smtp.outcome import ErrorKind, Outcome, ProbeResult
from ertui.tui.dialogs.test_dialog import TestDialog
from tests.tui.colours import export_in_sixteen_colours
from tests.tui.conftest import make_app
from tests.tui.snapshots.conftest import SIZES, no_blink, then

Size = tuple[int, int]


@pytest.mark.parametrize("size", SIZES)
def test_mail_settings(snap_compare: Any, populated: Engine, size: Size) -> None:
    assert snap_compare(make_app(populated), terminal_size=size, run_before=no_blink)


@pytest.mark.parametrize("size", SIZES)
def test_mail_settings_expanded(snap_compare: Any, populated: Engine, size: Size) -> None:
    assert snap_compare(make_app(populated), press=["down", "enter"], terminal_size=size, run_before=no_blink)


@pytest.mark.parametrize("size", SIZES)
def test_mail_settings_empty_with_warnings(
    snap_compare: Any, engine: Engine, size: Size, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ertui.settings.default_host_name", lambda: "localhost")
    assert snap_compare(make_app(engine), terminal_size=size, run_before=no_blink)


@pytest.mark.parametrize("size", SIZES)
def test_add_mta_form(snap_compare: Any, populated: Engine, size: Size) -> None:
    assert snap_compare(make_app(populated), terminal_size=size, run_before=then(lambda p: p.press("a")))


@pytest.mark.parametrize("size", SIZES)
def test_edit_mta_form_with_auth(snap_compare: Any, populated: Engine, size: Size) -> None:
    assert snap_compare(make_app(populated), terminal_size=size, run_before=then(lambda p: p.press("e")))


def test_add_mta_form_focus_in_16_colours(snap_compare: Any, populated: Engine) -> None:
    """TERM=xterm: the focused Host Port (label and field) still stands out."""
    app = make_app(populated)
    app.export_screenshot = partial(export_in_sixteen_colours, app)  # type: ignore[method-assign]

    async def focus_port(pilot: Pilot[Any]) -> None:
        await pilot.press("a")
        pilot.app.screen.query_one("#port").focus()

    assert snap_compare(app, terminal_size=(80, 24), run_before=then(focus_port))


async def _bad_values(pilot: Pilot[Any]) -> None:
    await pilot.press("a")
    await pilot.press(*"smtp://x", "enter")  # description "smtp://x" passes; host is next
    await pilot.press(*"smtp://mail.example.com")
    await pilot.press("ctrl+s")


@pytest.mark.parametrize("size", SIZES)
def test_mta_form_validation(snap_compare: Any, populated: Engine, size: Size) -> None:
    assert snap_compare(make_app(populated), terminal_size=size, run_before=then(_bad_values))


def _result(outcome: Outcome, transcript: list[str]) -> Any:
    async def show(pilot: Pilot[Any]) -> None:
        await pilot.press("t")
        dialog = pilot.app.screen
        assert isinstance(dialog, TestDialog)
        dialog.post_message(TestDialog.Finished(ProbeResult(outcome, transcript)))

    return show


TRANSCRIPT = [
    "connecting to smtp.example.com port 587 (STARTTLS)",
    "<<< 220 smtp.example.com ESMTP ready",
    ">>> EHLO console.example.com",
    "<<< 250-smtp.example.com",
    "<<< 250 STARTTLS",
    ">>> STARTTLS",
    "<<< 220 Ready to start TLS",
    "TLS established: TLSv1.3, cipher TLS_AES_256_GCM_SHA384 (256 bits)",
    ">>> AUTH PLAIN ********",
    "<<< 235 2.7.0 Authentication successful",
    ">>> MAIL FROM:<admin@example.com>",
    "<<< 250 OK",
    ">>> RCPT TO:<admin@example.com>",
    "<<< 250 OK",
    ">>> DATA",
    "<<< 250 2.0.0 Ok: queued as 4F2A1",
]


@pytest.mark.parametrize("size", SIZES)
def test_test_dialog_prefilled(snap_compare: Any, populated: Engine, size: Size) -> None:
    assert snap_compare(make_app(populated), terminal_size=size, run_before=then(lambda p: p.press("t")))


@pytest.mark.parametrize("size", SIZES)
def test_test_dialog_accepted(snap_compare: Any, populated: Engine, size: Size) -> None:
    ok = Outcome(ok=True, code=250, message="Email server accepted mail for delivery: 250 2.0.0 Ok: queued as 4F2A1")
    assert snap_compare(make_app(populated), terminal_size=size, run_before=then(_result(ok, TRANSCRIPT)))


@pytest.mark.parametrize("size", SIZES)
def test_test_dialog_failed(snap_compare: Any, populated: Engine, size: Size) -> None:
    failed = Outcome(
        ok=False,
        kind=ErrorKind.AUTH_FAILED,
        permanent=True,
        code=535,
        message="5.7.8 Authentication credentials invalid",
        hint="Check the Username and Password of this MTA.",
    )
    assert snap_compare(
        make_app(populated),
        terminal_size=size,
        run_before=then(_result(failed, [*TRANSCRIPT[:9], "<<< 535 5.7.8 Authentication credentials invalid"])),
    )


@pytest.mark.parametrize("size", SIZES)
def test_edit_host(snap_compare: Any, populated: Engine, size: Size) -> None:
    assert snap_compare(make_app(populated), terminal_size=size, run_before=then(lambda p: p.press("h")))


@pytest.mark.parametrize("size", SIZES)
def test_admin_dialog(snap_compare: Any, populated: Engine, size: Size) -> None:
    assert snap_compare(make_app(populated), terminal_size=size, run_before=then(lambda p: p.press("A")))


@pytest.mark.parametrize("size", SIZES)
def test_remove_confirmation(snap_compare: Any, populated: Engine, size: Size) -> None:
    assert snap_compare(make_app(populated), terminal_size=size, run_before=then(lambda p: p.press("down", "delete")))


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Any, populated: Engine, size: Size) -> None:
    assert snap_compare(make_app(populated), terminal_size=size, run_before=then(lambda p: p.press("question_mark")))


@pytest.mark.parametrize("size", SIZES)
def test_test_dialog_running(snap_compare: Any, populated: Engine, size: Size, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    async def never_answers(*args: object, **kwargs: object) -> None:  # a server that keeps us waiting
        await asyncio.Event().wait()

    monkeypatch.setattr("ertui.mtas.run_test", never_answers)
    assert snap_compare(make_app(populated), terminal_size=size, run_before=then(lambda p: p.press("t", "enter")))


async def _advanced_open(pilot: Pilot[Any]) -> None:
    await pilot.press("a")
    pilot.app.screen.query_one("#advanced").collapsed = False  # type: ignore[attr-defined]
    await pilot.pause()
    pilot.app.screen.query_one("#advanced").scroll_visible(top=True, animate=False)


async def _xoauth2(pilot: Pilot[Any]) -> None:
    from textual.widgets import Select, Switch

    await pilot.press("e")
    pilot.app.screen.query_one("#advanced").collapsed = False  # type: ignore[attr-defined]
    pilot.app.screen.query_one("#use_auth", Switch).value = True
    pilot.app.screen.query_one("#auth_mechanism", Select).value = "xoauth2"
    await pilot.pause()
    pilot.app.screen.query_one("#oauth-fields").scroll_visible(top=True, animate=False)


@pytest.mark.parametrize("size", SIZES)
def test_add_mta_form_advanced_open(snap_compare: Any, populated: Engine, size: Size) -> None:
    assert snap_compare(make_app(populated), terminal_size=size, run_before=then(_advanced_open))


@pytest.mark.parametrize("size", SIZES)
def test_edit_mta_form_xoauth2(snap_compare: Any, populated: Engine, size: Size) -> None:
    assert snap_compare(make_app(populated), terminal_size=size, run_before=then(_xoauth2))
