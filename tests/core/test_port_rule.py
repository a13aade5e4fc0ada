"""The web console's port rule, as a table of transitions."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from ertui import mtas
from ertui.errors import ValidationError
from ertui.mta_rules import Security, port_for_mode, security_change, security_from_flags

N, S, T = Security.NONE, Security.SSL, Security.STARTTLS


@pytest.mark.parametrize(
    ("current", "mode", "expected"),
    [
        (None, N, 25),
        (None, S, 465),
        (None, T, 587),
        (25, S, 465),
        (25, T, 587),
        (465, N, 25),
        (465, T, 587),
        (587, S, 465),
        (587, N, 25),
        (2525, S, 2525),
        (2525, T, 2525),
        (2525, N, 2525),
        (10025, S, 10025),
    ],
)
def test_port_for_mode(current: int | None, mode: Security, expected: int) -> None:
    assert port_for_mode(current, mode) == expected


def test_ssl_and_starttls_exclude_each_other() -> None:
    with pytest.raises(ValidationError, match="exclude each other"):
        security_from_flags(True, True)
    assert security_from_flags(False, False) is N


@pytest.mark.parametrize(
    ("current", "ssl", "starttls", "expected"),
    [
        (N, None, None, None),
        (S, None, None, None),
        (T, None, None, None),
        (N, True, None, S),
        (T, True, False, S),
        (S, None, True, T),
        (S, False, True, T),
        (S, False, None, N),
        (T, None, False, N),
        (S, False, False, N),
        # switching off the mode that is not on changes nothing
        (S, None, False, None),
        (T, False, None, None),
        (N, False, False, None),
    ],
)
def test_security_switches_on_an_existing_mta(
    current: Security, ssl: bool | None, starttls: bool | None, expected: Security | None
) -> None:
    assert security_change(current, ssl, starttls) is expected


@pytest.mark.parametrize(
    ("security", "port", "expected"),
    [(N, None, 25), (S, None, 465), (T, None, 587), (T, 2525, 2525), (S, "10465", 10465)],
)
def test_add_port(engine: Engine, security: Security, port: int | str | None, expected: int) -> None:
    m = mtas.add(engine, description="r", host="mail.example.com", port=port, security=security)
    assert m.port == expected


@pytest.mark.parametrize(
    ("start", "start_port", "change", "expected"),
    [
        (N, None, T, 587),
        (T, None, S, 465),
        (S, None, N, 25),
        (N, 2525, T, 2525),
        (T, 2587, N, 2587),
    ],
)
def test_edit_follows_mode_unless_typed(
    engine: Engine, start: Security, start_port: int | None, change: Security, expected: int
) -> None:
    m = mtas.add(engine, description="r", host="mail.example.com", port=start_port, security=start)
    assert mtas.edit(engine, m.id or 0, security=change).port == expected


def test_edit_with_typed_port_keeps_it(engine: Engine) -> None:
    m = mtas.add(engine, description="r", host="mail.example.com")
    assert mtas.edit(engine, "r", security=T, port=465).port == 465
    assert m.port == 25
