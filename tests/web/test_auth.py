"""The rules behind the gate: the token, sessions, the throttle (a clock the test moves)."""

from __future__ import annotations

import base64

from sqlalchemy.engine import Engine

from ertui import users
from ertui.web.auth import FAILURE_WINDOW, MAX_FAILURES, SESSION_LIFETIME, Guard, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_token_is_256_random_bits_and_works_once(engine: Engine) -> None:
    guard = Guard(engine)
    token = guard.token
    assert token is not None
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) == 32
    assert Guard(engine).token != token
    assert guard.spend_token(token, "127.0.0.1")
    assert not guard.spend_token(token, "127.0.0.1")


def test_a_demo_without_login_has_no_token_and_lets_everyone_in(engine: Engine) -> None:
    guard = Guard(engine, login_required=False)
    assert guard.token is None
    assert guard.valid_session(None)
    assert not Guard(engine).valid_session(None)


def test_sessions_expire(engine: Engine) -> None:
    clock = Clock()
    guard = Guard(engine, clock=clock)
    sid = guard.new_session()
    assert guard.valid_session(sid)
    assert not guard.valid_session(sid + "x")
    clock.now += SESSION_LIFETIME + 1
    assert not guard.valid_session(sid)


def test_the_throttle_counts_failures_in_a_sliding_window() -> None:
    clock = Clock()
    throttle = Throttle(clock)
    for _ in range(MAX_FAILURES - 1):
        throttle.fail("10.0.0.1")
        clock.now += 1
    assert throttle.retry_after("10.0.0.1") == 0
    throttle.fail("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") > 0
    assert throttle.retry_after("10.0.0.2") == 0  # another client is not held up
    clock.now += FAILURE_WINDOW
    assert throttle.retry_after("10.0.0.1") == 0  # the failures aged out


def test_guessing_one_users_password_from_many_addresses_is_throttled_too(engine: Engine) -> None:
    users.add_user(engine, "operator", password="correct horse battery")
    guard = Guard(engine, clock=Clock())
    for i in range(MAX_FAILURES):
        assert not guard.check_password("operator", f"guess {i}", f"10.0.0.{i}")
    assert guard.retry_after("10.0.0.99", "operator") > 0
    assert guard.retry_after("10.0.0.99", " OPERATOR ") > 0
    assert guard.retry_after("10.0.0.99", "someone-else") == 0


def test_a_password_checks_against_the_users_table(engine: Engine) -> None:
    users.add_user(engine, "operator", password="correct horse battery")
    guard = Guard(engine)
    assert guard.check_password("operator", "correct horse battery", "127.0.0.1")
    assert guard.check_password(" operator ", "correct horse battery", "127.0.0.1")
    assert not guard.check_password("operator", "correct horse batter", "127.0.0.1")
    assert not guard.check_password("nobody", "correct horse battery", "127.0.0.1")
