"""The delivery policy the operator edits: how long a temporarily refused
message waits before its first retry and at most, how long a message may take
to be delivered, how many attempts it gets, and how long an MTA rests after a
failure. The one place these rules live: kept in the store's ``setting``
table (``ertui policy set``, ``P`` on Mail Settings), read at enqueue (the
lifetime) and by every running worker within ``RELOAD_SECONDS`` (the rest),
without a restart.

An environment variable, where one exists (``ERTUI_WORKER_BACKOFF_BASE``…,
``ERTUI_MESSAGE_LIFETIME``), still overrides the store in the process that
has it; ``report`` says so. What a worker does with these values is
``ertui.delivery.policy`` (pure rules) and ``ertui.delivery.settings``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from ertui import audit, settings, validate
from ertui.errors import Field, ValidationError
from ertui.service import retention
from ertui.service.ages import format_age
from ertui.store.engine import store_call
from ertui.timeutil import parse_age

RELOAD_SECONDS = 30.0  # a running worker rereads the policy this often
WORKER_ENV_PREFIX = "ERTUI_WORKER_"
DAY = 86400.0


@dataclass(frozen=True)
class Knob:
    """One setting of the policy."""

    name: str  # the Policy attribute and the key in --json ("first_retry")
    label: str  # the field's name in a sentence and in the dialog
    key: str  # the row of the setting table
    default: float
    low: float
    high: float
    env: str  # the environment variable that overrides the store
    queued: str  # what a change does to mail already in the queue
    count: bool = False  # a number of attempts, not a span of time

    @property
    def field(self) -> Field:
        return Field(self.name, self.label)

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    def shown(self, value: float) -> str:
        """The value as an operator reads it: ``1m``, ``5d``, ``0 (until the lifetime ends)``."""
        if self.count:
            return f"{int(value)} (until the lifetime ends)" if value == 0 else str(int(value))
        return format_age(timedelta(seconds=value))


def _worker_env(field_name: str) -> str:
    return WORKER_ENV_PREFIX + field_name.upper()


QUEUED_NEXT = "applies to queued mail at its next temporary failure"
FIRST_RETRY = Knob(
    name="first_retry",
    label="First retry delay",
    key="policy_first_retry_seconds",
    default=60.0,
    low=1.0,
    high=DAY,
    env=_worker_env("backoff_base"),
    queued=QUEUED_NEXT,
)
MAX_RETRY = Knob(
    name="max_retry",
    label="Maximum retry delay",
    key="policy_max_retry_seconds",
    default=3600.0,
    low=1.0,
    high=7 * DAY,
    env=_worker_env("backoff_max"),
    queued=QUEUED_NEXT,
)
LIFETIME = Knob(
    name="lifetime",
    label="Message lifetime",
    key="policy_lifetime_seconds",
    default=5 * DAY,
    low=60.0,
    high=365 * DAY,
    env="ERTUI_MESSAGE_LIFETIME",
    queued="new mail only: a queued message keeps the expiry it got when it was queued",
)
MAX_ATTEMPTS = Knob(
    name="max_attempts",
    label="Maximum attempts",
    key="policy_max_attempts",
    default=0.0,
    low=0.0,
    high=100_000.0,
    env=_worker_env("max_attempts"),
    queued=QUEUED_NEXT,
    count=True,
)
MTA_COOLDOWN = Knob(
    name="mta_cooldown",
    label="MTA cooldown",
    key="policy_mta_cooldown_seconds",
    default=5.0,
    low=1.0,
    high=DAY,
    env=_worker_env("cooldown_base"),
    queued="applies at an MTA's next failure (doubling per failure in a row)",
)
KNOBS = (FIRST_RETRY, MAX_RETRY, LIFETIME, MAX_ATTEMPTS, MTA_COOLDOWN)
BY_NAME = {k.name: k for k in KNOBS}


@dataclass(frozen=True)
class Policy:
    """Seconds, except ``max_attempts`` (0: until the lifetime ends)."""

    first_retry: float = FIRST_RETRY.default
    max_retry: float = MAX_RETRY.default
    lifetime: float = LIFETIME.default
    max_attempts: int = int(MAX_ATTEMPTS.default)
    mta_cooldown: float = MTA_COOLDOWN.default

    def value(self, knob: Knob) -> float:
        return float(getattr(self, knob.name))

    def with_value(self, knob: Knob, value: float) -> Policy:
        given: dict[str, Any] = {knob.name: int(value) if knob.count else float(value)}
        return replace(self, **given)


assert [f.name for f in fields(Policy)] == [k.name for k in KNOBS]


# -- reading -----------------------------------------------------------------------


def _number(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def _in_range(knob: Knob, value: float | None) -> bool:
    try:
        return value is not None and check(knob, value) == value
    except ValidationError:
        return False


@store_call
def stored_values(engine: Engine) -> dict[str, float]:
    """The knobs the store holds (a knob never set is absent), in one query.
    A value ``set_policy`` would refuse (outside the knob's range: a script
    wrote it, e.g. a first retry delay of 1e12 s, past the year 9999) counts
    as never set, so every reader — the worker too — keeps the default."""
    rows = settings.get_settings(engine, tuple(k.key for k in KNOBS))
    found = {k.name: _number(rows.get(k.key)) for k in KNOBS}
    return {name: value for name, value in found.items() if value is not None and _in_range(BY_NAME[name], value)}


@store_call
def stored(engine: Engine) -> Policy:
    """The policy in the store (defaults where nothing is set), without the environment."""
    policy = Policy()
    for name, value in stored_values(engine).items():
        policy = policy.with_value(BY_NAME[name], value)
    return policy


def env_override(knob: Knob, environ: Mapping[str, str] | None = None) -> float | None:
    """The knob's environment override in seconds (or attempts), None when unset;
    ValidationError naming the variable when it is not a number in its range."""
    raw = (os.environ if environ is None else environ).get(knob.env)
    if not raw:
        return None
    value = _number(raw.strip())
    # The knob's range, but from 0 (an expert's override: tests retry at once with
    # ERTUI_WORKER_BACKOFF_BASE=0, expire mail at once with ERTUI_MESSAGE_LIFETIME=0);
    # beyond it, 1e20 overflowed a date (a traceback).
    low = 0.0
    if value is None or not low <= value <= knob.high or (knob.count and value != int(value)):
        rule = f"from {low:.0f} to {knob.high:.0f}"
        if knob.count:
            rule = f"a whole number {rule}"
        else:
            rule = f"a number of seconds {rule} ({knob.shown(low)} to {knob.shown(knob.high)})"
        raise ValidationError(Field(knob.name, knob.env), f"{knob.env} must be {rule}.")
    return value


@store_call
def message_lifetime(engine: Engine) -> timedelta:
    """How long a message enqueued now may take: ``ERTUI_MESSAGE_LIFETIME``, else the store."""
    override = env_override(LIFETIME)
    return timedelta(seconds=override if override is not None else stored(engine).lifetime)


# -- changing ----------------------------------------------------------------------


def parse(knob: Knob, text: str) -> float:
    """An operator's value for the knob, checked: an age (``90s``, ``15m``, ``2h``,
    ``5d``, ``1w``, a bare number is seconds) or a whole number of attempts."""
    f = knob.field
    if knob.count:
        number = validate.digits(text)
        return check(knob, float(number if number is not None else -1))
    age = parse_age(text)
    low, high = knob.shown(knob.low), knob.shown(knob.high)
    if age is None:
        raise ValidationError(f, f"{knob.label} must be an age such as 90s, 15m, 2h or 5d (from {low} to {high}).")
    return check(knob, age.total_seconds())


def check(knob: Knob, value: float) -> float:
    """The knob's range: ValidationError naming the field and the rule."""
    if knob.count:
        if value != int(value) or not knob.low <= value <= knob.high:
            rule = f"a whole number from {int(knob.low)} to {int(knob.high)}"
            raise ValidationError(knob.field, f"{knob.label} must be {rule}.")
    elif not knob.low <= value <= knob.high:
        low, high = knob.shown(knob.low), knob.shown(knob.high)
        raise ValidationError(knob.field, f"{knob.label} must be from {low} to {high}.")
    return value


@store_call
def set_policy(engine: Engine, changes: Mapping[str, float]) -> Policy:
    """Change the knobs named (``{"first_retry": 300.0}``); every value is checked,
    and the first retry delay against the maximum, before anything is written.
    One audit entry names every change. Returns the stored policy."""
    old = stored(engine)
    new = old
    for name, value in changes.items():
        knob = BY_NAME.get(name)
        if knob is None:
            raise ValidationError(Field(name, name), f"{name!r} is not a setting of the delivery policy.")
        new = new.with_value(knob, check(knob, value))
    if new.first_retry > new.max_retry:
        which = FIRST_RETRY if "first_retry" in changes else MAX_RETRY
        raise ValidationError(
            which.field,
            f"First retry delay ({format_age(timedelta(seconds=new.first_retry))}) must not be longer than "
            f"the maximum retry delay ({format_age(timedelta(seconds=new.max_retry))}).",
        )
    said = []
    held = stored_values(engine)
    for knob in KNOBS:
        if knob.name in changes and (new.value(knob) != old.value(knob) or knob.name not in held):
            text = str(int(new.value(knob))) if knob.count else str(new.value(knob))
            settings.put_setting(engine, knob.key, text)
            if new.value(knob) != old.value(knob):
                said.append(f"{knob.label.lower()}: {knob.shown(old.value(knob))} → {knob.shown(new.value(knob))}")
    if said:
        audit.record(engine, "policy.set", "; ".join(said))
    return new


# -- showing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    knob: Knob
    value: float  # what a process with this environment uses
    stored: float | None  # None: never set (the default)
    env_raw: str | None  # the override's text when the variable is set

    @property
    def source(self) -> str:
        if self.env_raw is not None:
            return "environment"
        return "default" if self.stored is None else "store"


@store_call
def report(engine: Engine, environ: Mapping[str, str] | None = None) -> list[Line]:
    """Every knob: the value in use here, the stored one and any override."""
    env = os.environ if environ is None else environ
    held = stored_values(engine)
    policy = stored(engine)
    lines = []
    for knob in KNOBS:
        override = env_override(knob, env)
        value = override if override is not None else policy.value(knob)
        raw = env.get(knob.env) if override is not None else None
        lines.append(Line(knob, value, held.get(knob.name), raw))
    return lines


def as_json(lines: list[Line], kept: retention.Retention) -> dict[str, Any]:
    """``ertui policy show --json``: the values in use, then every knob in detail."""
    out: dict[str, Any] = {}
    for line in lines:
        key = line.knob.name if line.knob.count else f"{line.knob.name}_seconds"
        out[key] = int(line.value) if line.knob.count else line.value
    out["settings"] = {
        line.knob.name: {
            "value": int(line.value) if line.knob.count else line.value,
            "stored": line.stored,
            "default": line.knob.default,
            "source": line.source,
            "env": line.knob.env,
            "env_value": line.env_raw,
            "overridden_by_env": line.env_raw is not None,
            "affects_queued_mail": line.knob is not LIFETIME,
            "queued_mail": line.knob.queued,
        }
        for line in lines
    }
    out["reload_seconds"] = RELOAD_SECONDS
    out["retention"] = {
        "keep_sent_seconds": kept.keep_sent.total_seconds(),
        "keep_failed_seconds": kept.keep_failed.total_seconds(),
    }
    return out
