"""The delivery worker's settings and the event it reports for every outcome."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ertui.errors import Field, ValidationError

ENV_PREFIX = "ERTUI_WORKER_"


@dataclass
class WorkerSettings:
    """Every knob of the worker; ``from_env`` reads ``ERTUI_WORKER_<NAME>`` overrides
    (e.g. ``ERTUI_WORKER_BACKOFF_BASE=0``), which the tests use."""

    lease_seconds: float = 30.0
    batch_size: int = 200  # messages per claim (at least 4 per connection)
    flush_every: int = 100  # results per write
    flush_interval: float = 0.2  # seconds between writes at most
    backoff_base: float = 60.0  # first deferral; doubles per attempt
    backoff_max: float = 3600.0
    max_attempts: int = 30
    idle_close_seconds: float = 5.0
    messages_per_connection: int = 1000
    poll_interval: float = 0.5  # look for new mail and MTA edits this often
    cooldown_base: float = 5.0  # MTA cooldown after its first failure; doubles
    cooldown_max: float = 600.0
    stop_timeout: float = 60.0  # how long a graceful stop waits for sends in flight
    # Store calls on a helper thread (True) or inline on the event loop (False).
    # Default: inline for SQLite, whose calls take a few milliseconds and whose
    # helper thread would contend with the SMTP sessions for the GIL; a thread
    # for PostgreSQL, whose calls wait on the network.
    db_thread: bool | None = None

    @classmethod
    def from_env(cls, **overrides: Any) -> WorkerSettings:
        values: dict[str, Any] = {}
        for name, f in cls.__dataclass_fields__.items():
            raw = os.environ.get(ENV_PREFIX + name.upper())
            if not raw:
                continue
            kind = str(f.type)
            try:
                if "bool" in kind:
                    values[name] = raw.strip().lower() in ("1", "true", "yes", "on")
                else:
                    values[name] = int(raw) if kind == "int" else float(raw)
            except ValueError:
                raise ValidationError(
                    Field(name, ENV_PREFIX + name.upper()), f"{ENV_PREFIX}{name.upper()} must be a number."
                ) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True)
class DeliveryEvent:
    message_id: int
    mta_id: int | None
    outcome: str  # "sent" | "deferred" | "failed" | "mta_error"
    detail: str
    at: datetime
    duration: float | None = None  # seconds of the SMTP attempt, when there was one
