"""The delivery worker's settings and the event it reports for every outcome."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ertui import delivery_policy as dp
from ertui.errors import Field, ValidationError

ENV_PREFIX = dp.WORKER_ENV_PREFIX
# The knobs of the operator's delivery policy (``ertui.delivery_policy``) and
# the settings that carry them here.
POLICY_FIELDS = {
    dp.FIRST_RETRY.name: "backoff_base",
    dp.MAX_RETRY.name: "backoff_max",
    dp.MAX_ATTEMPTS.name: "max_attempts",
    dp.MTA_COOLDOWN.name: "cooldown_base",
}


@dataclass
class WorkerSettings:
    """Every knob of the worker; ``from_env`` reads ``ERTUI_WORKER_<NAME>`` overrides
    (e.g. ``ERTUI_WORKER_BACKOFF_BASE=0``), which the tests use.

    With ``from_store`` (what ``from_env`` makes: ``ertui worker`` and the
    console's worker) the delivery policy's knobs (``POLICY_FIELDS``) come from
    the store, reread every ``policy_reload`` seconds, except those ``pinned``
    by the environment or by the caller. Made directly, the values given hold."""

    lease_seconds: float = 30.0
    batch_size: int = 200  # messages per claim (at least 4 per connection)
    flush_every: int = 100  # results per write
    flush_interval: float = 0.2  # seconds between writes at most
    backoff_base: float = dp.FIRST_RETRY.default  # first deferral; doubles per attempt
    backoff_max: float = dp.MAX_RETRY.default
    max_attempts: int = int(dp.MAX_ATTEMPTS.default)  # 0: until the message's lifetime ends
    idle_close_seconds: float = 5.0
    messages_per_connection: int = 1000
    poll_interval: float = 0.5  # look for new mail and MTA edits this often
    cooldown_base: float = dp.MTA_COOLDOWN.default  # MTA cooldown after its first failure; doubles
    cooldown_max: float = 600.0  # (never below cooldown_base)
    stop_timeout: float = 60.0  # how long a graceful stop waits for sends in flight
    # Store calls on a helper thread (True) or inline on the event loop (False).
    # Default: inline for SQLite, whose calls take a few milliseconds and whose
    # helper thread would contend with the SMTP sessions for the GIL; a thread
    # for PostgreSQL, whose calls wait on the network.
    db_thread: bool | None = None
    from_store: bool = False  # the delivery policy from the store (see the class)
    policy_reload: float = dp.RELOAD_SECONDS
    pinned: frozenset[str] = frozenset()  # fields the store's policy must not change

    @classmethod
    def from_env(cls, **overrides: Any) -> WorkerSettings:
        values: dict[str, Any] = {}
        knobs = {attr: dp.BY_NAME[name] for name, attr in POLICY_FIELDS.items()}
        for name, f in cls.__dataclass_fields__.items():
            if name in ("from_store", "pinned"):
                continue
            variable = ENV_PREFIX + name.upper()
            raw = os.environ.get(variable)
            if not raw:
                continue
            kind = str(f.type)
            if name in knobs:  # the delivery policy's rule for its overrides
                value = dp.env_override(knobs[name])
                assert value is not None  # (the variable is set)
                values[name] = int(value) if kind == "int" else value
            elif "bool" in kind:
                values[name] = raw.strip().lower() in ("1", "true", "yes", "on")
            else:
                values[name] = _number(raw, variable, whole=kind == "int")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values, from_store=True, pinned=frozenset(values))

    def apply_policy(self, policy: dp.Policy) -> list[str]:
        """Take the store's policy for every knob not pinned; what changed, as
        "first retry delay 1m → 5m" (for the log)."""
        changes = []
        for name, attr in POLICY_FIELDS.items():
            if attr in self.pinned:
                continue
            knob = dp.BY_NAME[name]
            old, new = float(getattr(self, attr)), policy.value(knob)
            if old != new:
                setattr(self, attr, int(new) if knob.count else new)
                changes.append(f"{knob.label.lower()} {knob.shown(old)} → {knob.shown(new)}")
        return changes


#: The largest value of a worker setting from the environment (about 115 days
#: in seconds): beyond, 1e308 or inf overflowed a date in the worker.
MAX_ENV_NUMBER = 10_000_000


def _number(raw: str, variable: str, *, whole: bool) -> float | int:
    """An ``ERTUI_WORKER_*`` number: finite, from 0 to ``MAX_ENV_NUMBER``."""
    try:
        value: float | int = int(raw) if whole else float(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_ENV_NUMBER:  # (NaN fails this too)
        unit = "a whole number" if whole else "a number"
        raise ValidationError(
            Field(variable.lower(), variable), f"{variable} must be {unit} from 0 to {MAX_ENV_NUMBER}."
        )
    return value


@dataclass(frozen=True)
class DeliveryEvent:
    message_id: int
    mta_id: int | None
    outcome: str  # "sent" | "deferred" | "failed" | "mta_error"
    detail: str
    at: datetime
    duration: float | None = None  # seconds of the SMTP attempt, when there was one
