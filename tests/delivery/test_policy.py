"""The worker's rules for what an attempt means for its message (ertui.delivery.policy)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ertui.delivery import policy as verdicts
from ertui.delivery.settings import WorkerSettings
from ertui.smtp.outcome import ErrorKind, Outcome
from ertui.store.models import MessageStatus
from ertui.timeutil import utcnow
from tests.delivery.conftest import claimed

NOW = utcnow()
SETTINGS = WorkerSettings(backoff_base=60, backoff_max=3600, max_attempts=5)


def refused(code: int, permanent: bool, text: str = "mailbox busy") -> Outcome:
    return Outcome(ok=False, kind=ErrorKind.RECIPIENT_REFUSED, permanent=permanent, code=code, message=text)


def test_a_permanent_refusal_fails_at_once_with_the_reply() -> None:
    v = verdicts.after_refusal(claimed(NOW), refused(550, True, "5.1.1 no such user"), SETTINGS, NOW)
    assert (v.status, v.error, v.next_at) == (MessageStatus.FAILED, "550 5.1.1 no such user", None)


@pytest.mark.parametrize(("attempts", "delay"), [(0, 60), (1, 120), (2, 240), (3, 480)])
def test_a_temporary_refusal_defers_with_a_doubling_backoff(attempts: int, delay: int) -> None:
    v = verdicts.after_refusal(claimed(NOW, attempts), refused(451, False), SETTINGS, NOW)
    assert (v.status, v.error) == (MessageStatus.DEFERRED, "451 mailbox busy")
    assert v.next_at == NOW + timedelta(seconds=delay)


def test_the_last_allowed_attempt_fails_saying_so() -> None:
    v = verdicts.after_refusal(claimed(NOW, attempts=4), refused(451, False), SETTINGS, NOW)
    assert v.status is MessageStatus.FAILED and v.next_at is None
    assert v.error == "Gave up after 5 attempts; last error: 451 mailbox busy"


def test_a_next_attempt_past_the_lifetime_fails_now() -> None:
    v = verdicts.after_refusal(claimed(NOW, lifetime=timedelta(seconds=30)), refused(451, False), SETTINGS, NOW)
    assert v.status is MessageStatus.FAILED
    assert v.error.startswith("Not delivered within its lifetime; last error: 451")


def test_stranded_messages_wait_for_the_first_mta_back() -> None:
    soon, later = NOW + timedelta(seconds=5), NOW + timedelta(seconds=50)
    assert verdicts.stranded_next_attempt(claimed(NOW), [later, soon], 30, NOW) == soon
    assert verdicts.stranded_next_attempt(claimed(NOW), [], 30, NOW) == NOW + timedelta(seconds=30)
    assert verdicts.stranded_next_attempt(claimed(NOW, tries=0), [], 30, NOW) is None


def test_attempt_rows_name_the_outcome() -> None:
    mta_down = Outcome(ok=False, kind=ErrorKind.REFUSED, message="refused")
    rows = [
        verdicts.attempt_row(claimed(NOW), 3, "relay", NOW, 0.25, o)
        for o in (Outcome(ok=True, code=250, message="ok"), mta_down, refused(550, True), refused(451, False))
    ]
    assert [r["outcome"] for r in rows] == ["sent", "mta_error", "failed", "deferred"]
    assert rows[0]["duration_ms"] == 250 and rows[2]["code"] == 550


def test_backoff_and_mta_cooldown_double_up_to_their_cap() -> None:
    s = WorkerSettings(backoff_base=60, backoff_max=300, cooldown_base=5, cooldown_max=30)
    assert [verdicts.backoff(s, n) for n in (0, 1, 2, 3, 4)] == [60, 60, 120, 240, 300]
    assert [verdicts.mta_cooldown(s, n) for n in (1, 2, 3, 4, 99)] == [5, 10, 20, 30, 30]
