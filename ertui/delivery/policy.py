"""What one delivery attempt means for its message, and how long an MTA cools
down: the worker's rules as pure functions (no store, no network), so that they
can be read and tested alone.

- Accepted: ``sent``.
- A failure of the MTA itself (``Outcome.mta_failure``) is not the message's:
  the worker hands the message to another MTA (see ``ertui.delivery.worker``).
- Refused permanently (5xx, an invalid address): ``failed`` at once.
- Refused temporarily (4xx): ``deferred`` for ``backoff`` — ``backoff_base``
  doubling per attempt up to ``backoff_max`` — unless that was attempt
  ``max_attempts`` (0: no such limit), or the next attempt would fall past the
  message's lifetime: then ``failed``, saying why.
- An MTA that failed cools down for ``mta_cooldown``: ``cooldown_base`` doubling
  per failure in a row up to ``cooldown_max`` (or ``cooldown_base`` when that is
  longer; written by ``mtas.record_failure``).
- The operator's values for these (the delivery policy) are kept in the store:
  ``ertui.delivery_policy``.
- An MTA that refuses *every* message for a while is unwell, not the messages
  (``mta_unwell``): temporary refusals for ``UNWELL_IN_A_ROW`` different
  recipients in a row, or for most of the last ``UNWELL_WINDOW`` replies. It
  cools down as if it had failed, and the messages it deferred since its last
  acceptance are due again at once, for the other MTAs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ertui.store.models import MessageStatus

if TYPE_CHECKING:
    from ertui.delivery.claims import Claimed
    from ertui.delivery.settings import WorkerSettings
    from ertui.smtp.outcome import Outcome

TEXT_LIMIT = 2000  # characters of a server reply kept in the store


@dataclass(frozen=True)
class Verdict:
    status: MessageStatus  # FAILED or DEFERRED
    error: str  # the message's last_error
    next_at: datetime | None = None  # when DEFERRED


def doubling(n: int, base: float, cap: float) -> float:
    """Seconds to wait after the n-th time in a row: ``base``, doubling each time, at most ``cap``."""
    return float(min(cap, base * 2 ** min(max(n - 1, 0), 30)))


def backoff(settings: WorkerSettings, attempts: int) -> float:
    """How long a message waits after its ``attempts``-th temporary refusal."""
    return doubling(attempts, settings.backoff_base, settings.backoff_max)


def mta_cooldown(settings: WorkerSettings, failures: int) -> float:
    """How long an MTA cools down after its ``failures``-th failure in a row."""
    return doubling(failures, settings.cooldown_base, max(settings.cooldown_max, settings.cooldown_base))


UNWELL_IN_A_ROW = 5
UNWELL_WINDOW = 20


def mta_unwell(replies: Iterable[tuple[str, bool]]) -> bool:
    """Whether an MTA's recent replies — (recipient, refused temporarily), oldest
    first — say the MTA is unwell: ``UNWELL_IN_A_ROW`` temporary refusals in a
    row for as many different recipients, or temporary refusals for more than
    half of the last ``UNWELL_WINDOW`` replies, to more than half as many
    different recipients. One recipient refused again and again (greylisting,
    a full mailbox) is that recipient's matter, not the MTA's."""
    seen = list(replies)
    last = seen[-UNWELL_IN_A_ROW:]
    if len(last) == UNWELL_IN_A_ROW and all(t for _, t in last) and len({r for r, _ in last}) == UNWELL_IN_A_ROW:
        return True
    window = seen[-UNWELL_WINDOW:]
    if len(window) < UNWELL_WINDOW:
        return False
    refused = [r for r, t in window if t]
    return len(refused) > UNWELL_WINDOW // 2 and len(set(refused)) > UNWELL_WINDOW // 2


def error_text(outcome: Outcome) -> str:
    """The reply as a last error: ``550 5.1.1 no such user`` (or the error's text)."""
    text = outcome.message or (outcome.kind.value if outcome.kind else "")
    return f"{outcome.code} {text}".strip() if outcome.code else text


def after_refusal(msg: Claimed, outcome: Outcome, settings: WorkerSettings, now: datetime) -> Verdict:
    """The message was refused (MAIL, RCPT or DATA): fail it or defer it.
    ``msg.tries`` already counts this attempt."""
    error = error_text(outcome)
    attempts = msg.attempts + msg.tries
    if outcome.permanent:
        return Verdict(MessageStatus.FAILED, error)
    if settings.max_attempts and attempts >= settings.max_attempts:
        return Verdict(MessageStatus.FAILED, f"Gave up after {attempts} attempts; last error: {error}")
    next_at = now + timedelta(seconds=backoff(settings, attempts))
    if next_at >= msg.expires_at:
        return Verdict(MessageStatus.FAILED, f"Not delivered within its lifetime; last error: {error}")
    return Verdict(MessageStatus.DEFERRED, error, next_at)


def expired_error(msg: Claimed) -> str:
    """The last error of a message claimed after its lifetime ran out."""
    last = f"; last error: {msg.last_error}" if msg.last_error else ""
    return f"Not delivered within its lifetime{last}"


def stranded_next_attempt(
    msg: Claimed, cooldown_ends: list[datetime], cooldown_base: float, now: datetime
) -> datetime | None:
    """When a message that no usable MTA may take (every one failed for it) is
    due again: when the first MTA's cooldown ends; without one, after a cooldown
    if it was tried, else as it was (None)."""
    if cooldown_ends:
        return max(now, min(cooldown_ends))
    if msg.attempts + msg.tries > 0:
        return now + timedelta(seconds=cooldown_base)
    return None


def attempt_row(
    msg: Claimed,
    mta_id: int,
    mta_name: str,
    started: datetime,
    seconds: float,
    outcome: Outcome,
) -> dict[str, Any]:
    """The attempt log row (``ertui.delivery.claims.write``) of one attempt."""
    if outcome.ok:
        result = "sent"
    elif outcome.mta_failure:
        result = "mta_error"
    else:
        result = "failed" if outcome.permanent else "deferred"
    return {
        "message_id": msg.id,
        "mta_id": mta_id,
        "mta_description": mta_name,
        "started_at": started,
        "duration_ms": int(seconds * 1000),
        "outcome": result,
        "kind": outcome.kind.value if outcome.kind else None,
        "code": outcome.code,
        "text": (outcome.message or "")[:TEXT_LIMIT],
    }
