"""The parts of the core that land in parallel (queue, sender, smtp, recovery),
reached through guarded imports so the console runs before and after they do.

Everything here calls the core; no rule lives in this module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol, cast

from sqlalchemy.engine import Engine


class DeliveryWorkerLike(Protocol):
    """What the console uses of ``ertui.delivery.worker.DeliveryWorker``."""

    @property
    def paused(self) -> bool: ...

    async def run(self, once: bool = False) -> Any: ...

    def pause(self) -> Any: ...

    def resume(self) -> Any: ...

    def request_stop(self) -> Any: ...

    def open_connections(self) -> dict[int, int]: ...

    def recent_deliveries(self, mta_id: int, minutes: int = 10) -> list[int]: ...


def optional_module(name: str) -> ModuleType | None:
    """``ertui.<name>`` if it exists yet, else None (a broken module still raises)."""
    full = f"ertui.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name == full:
            return None
        raise


def make_delivery_worker(engine: Engine, on_event: Callable[[Any], None]) -> DeliveryWorkerLike | None:
    sender = optional_module("delivery.worker")
    if sender is None or not hasattr(sender, "Worker"):
        return None
    from ertui.delivery.settings import WorkerSettings

    worker_settings = WorkerSettings.from_env()  # ERTUI_WORKER_* overrides
    return cast(
        DeliveryWorkerLike,
        sender.Worker(engine, worker_settings, on_event=on_event),
    )


QUEUE_COUNT_STATUSES = ("queued", "deferred", "failed")


def queue_stats(engine: Engine) -> tuple[dict[str, int] | None, str | None]:
    """Counts per status and why nothing moves (``queue.stats``); (None, None) without a queue."""
    queue = optional_module("queue")
    if queue is None:
        return None, None
    if hasattr(queue, "stats"):
        stats: Any = queue.stats(engine)
        counts = {str(k): int(v) for k, v in dict(stats.counts).items()}
        reason = getattr(stats, "stalled_reason", None)
        return counts, None if reason is None else str(reason)
    if hasattr(queue, "count_messages"):
        counts = {s: int(queue.count_messages(engine, status=s)) for s in QUEUE_COUNT_STATUSES}
        return counts, None
    return None, None


def leased_connections(engine: Engine) -> dict[int, int] | None:
    """Open connections per MTA across every worker sharing the store (slot leases)."""
    slots = optional_module("delivery.slots")
    func = getattr(slots, "leased", None)
    if func is None:
        return None
    return {int(k): int(v) for k, v in dict(func(engine)).items()}


async def test_send(engine: Engine, config: Any, to: str) -> Any:
    """``ertui.smtp.test_send`` (a TestResult), or an error when the transport is missing."""
    from ertui import mtas

    return await mtas.run_test(engine, config, to)


def reset_link_preview(host: str) -> str:
    """The password-recovery link ``host`` produces, with "…" for the token."""
    recovery = optional_module("recovery")
    func = getattr(recovery, "reset_link", None)
    if func is not None:
        return f"{func(host, '')}…"  # the core builds it; "…" stands for a token
    return f"https://{host}/reset-password?token=…"
