"""``ertui check``: a monitoring plugin with the Nagios/Icinga contract. Exit
0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the store unreadable, or the check's
own options wrong), and one line ``ERTUI STATE - text | perfdata``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum

from ertui.errors import Field, ValidationError
from ertui.service.snapshot import Snapshot
from ertui.store.models import WORKER_LIVE_WITHIN


class State(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


@dataclass(frozen=True)
class Thresholds:
    warn_age: timedelta = timedelta(minutes=15)
    crit_age: timedelta = timedelta(hours=1)
    warn_failed: int = 1
    crit_failed: int = 10
    crit_no_worker: bool = False


def consistent(th: Thresholds) -> Thresholds:
    """A warning threshold above its critical one would never warn: ValidationError."""
    if th.warn_age > th.crit_age:
        raise ValidationError(Field("warn_age", "--warn-age"), "--warn-age must not be more than --crit-age.")
    if th.warn_failed > th.crit_failed:
        raise ValidationError(
            Field("warn_failed", "--warn-failed"), "--warn-failed must not be more than --crit-failed."
        )
    return th


def evaluate(snap: Snapshot, th: Thresholds) -> tuple[State, str]:
    """The state and the one line for this snapshot."""
    crit: list[str] = []
    warn: list[str] = []
    age = snap.oldest_unsent_seconds
    if age >= th.crit_age.total_seconds():
        crit.append(f"oldest unsent is {int(age)} s old")
    elif age >= th.warn_age.total_seconds():
        warn.append(f"oldest unsent is {int(age)} s old")
    if snap.failed_24h >= th.crit_failed:
        crit.append(f"{snap.failed_24h} failed in 24h")
    elif snap.failed_24h >= th.warn_failed:
        warn.append(f"{snap.failed_24h} failed in 24h")
    enabled = snap.enabled_mtas
    if not enabled:
        crit.append("no MTA is enabled")
    down = [m.description for m in enabled if not m.up]
    if down:
        warn.append("MTA down: " + ", ".join(repr(d) for d in down))
    if th.crit_no_worker and snap.live_workers == 0:
        crit.append(f"no worker heartbeat in {int(WORKER_LIVE_WITHIN.total_seconds() // 60)} min")
    state = State.CRITICAL if crit else State.WARNING if warn else State.OK
    summary = (
        f"{snap.unsent} unsent, oldest {int(age)} s, {snap.failed_24h} failed in 24h, "
        f"{snap.mtas_up}/{len(enabled)} MTAs up"
    )
    reasons = "; ".join(crit + warn)
    text = f"{reasons}; {summary}" if reasons else summary
    perf = f"unsent={snap.unsent} oldest={int(age)}s failed24h={snap.failed_24h} mtas_up={snap.mtas_up}"
    return state, f"ERTUI {state.name} - {text} | {perf}"


def unknown(reason: str) -> tuple[State, str]:
    return State.UNKNOWN, f"ERTUI UNKNOWN - {reason}"
