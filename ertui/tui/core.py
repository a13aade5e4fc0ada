"""The few calls the console makes to the core that are more than one function.

The delivery worker is named here once (``Worker``), so that a rename in
``ertui.delivery`` is one line to change. Everything here calls the core; no
rule lives in this module.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine

from ertui import recovery
from ertui.delivery.settings import DeliveryEvent, WorkerSettings
from ertui.delivery.worker import Worker

__all__ = ["DeliveryEvent", "Worker", "make_worker", "reset_link_preview"]


def make_worker(engine: Engine, on_event: Callable[[DeliveryEvent], None]) -> Worker:
    """The console's own delivery worker, with the ``ERTUI_WORKER_*`` overrides."""
    return Worker(engine, WorkerSettings.from_env(), on_event=on_event)


def reset_link_preview(host: str) -> str:
    """The password-recovery link ``host`` produces, with "…" for the token."""
    return f"{recovery.reset_link(host, '')}…"
