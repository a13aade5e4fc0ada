"""Prometheus metrics, with prometheus-client and its own registry (never a
hand-written exposition).

The queue's gauges come from the store (``snapshot.take``: one aggregation
query), so every worker reports the whole queue; they are computed at most
every ``cache_seconds`` however often the page is scraped. The counters and
the histogram count this process's deliveries (``observe``, fed by the
worker's ``on_event``); the open connections and the paused flag are this
worker's, copied in from its event loop (``set_live``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from ertui.service import snapshot
from ertui.service.snapshot import Snapshot
from ertui.termsafe import terminal_safe

log = logging.getLogger("ertui.worker")

OUTCOMES = ("sent", "deferred", "failed")
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class Live:
    """What only a running worker knows: None where no worker is in this process."""

    paused: bool | None = None
    open_connections: dict[int, int] = field(default_factory=dict)


class SnapshotCache:
    """The store's snapshot, taken again at most every ``seconds`` (thread-safe:
    the HTTP server scrapes from its own threads)."""

    def __init__(self, engine: Engine, seconds: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._value: Snapshot | None = None
        self._taken = 0.0
        self.queries = 0  # how many snapshots were taken (the tests count them)

    def get(self) -> Snapshot:
        with self._lock:
            now = self.clock()
            if self._value is None or now - self._taken >= self.seconds:
                self._value = snapshot.take(self.engine)
                self._taken = now
                self.queries += 1
            return self._value


class _StoreCollector(Collector):
    def __init__(self, cache: SnapshotCache, live: Live) -> None:
        self.cache = cache
        self.live = live

    def collect(self) -> Iterator[Metric]:
        try:
            snap = self.cache.get()
        except Exception as exc:  # the store away: say so in the metrics, never a traceback
            log.warning(
                "metrics: the store cannot be read: %s", terminal_safe(str(exc).splitlines()[0] if str(exc) else "")
            )
            yield GaugeMetricFamily("ertui_store_up", "1 when the store could be read for these metrics.", value=0)
            return
        yield GaugeMetricFamily("ertui_store_up", "1 when the store could be read for these metrics.", value=1)
        queue = GaugeMetricFamily("ertui_queue_messages", "Messages in the queue by status.", labels=["status"])
        for status, n in snap.counts.items():
            queue.add_metric([status], n)
        yield queue
        yield GaugeMetricFamily(
            "ertui_queue_oldest_unsent_seconds",
            "Age of the oldest message waiting to be sent (queued, sending, deferred); 0 when none.",
            value=snap.oldest_unsent_seconds,
        )
        up = GaugeMetricFamily(
            "ertui_mta_up",
            "1 when the enabled MTA is usable: not cooling down, last attempt not failed.",
            labels=["mta"],
        )
        conns = GaugeMetricFamily(
            "ertui_mta_open_connections", "SMTP connections this worker holds open, per MTA.", labels=["mta"]
        )
        for m in snap.enabled_mtas:
            up.add_metric([m.description], 1 if m.up else 0)
            conns.add_metric([m.description], self.live.open_connections.get(m.id, 0))
        yield up
        if self.live.paused is not None:
            yield conns
        beat = snap.last_heartbeat.timestamp() if snap.last_heartbeat else 0.0
        yield GaugeMetricFamily(
            "ertui_worker_heartbeat_timestamp_seconds",
            "Unix time of the newest worker heartbeat in the store (0: none).",
            value=beat,
        )
        if self.live.paused is not None:
            paused = 1 if self.live.paused else 0
        else:
            paused = 1 if snap.live_workers and snap.paused_workers == snap.live_workers else 0
        yield GaugeMetricFamily(
            "ertui_worker_paused", "1 when this worker (ertui metrics: every live worker) is paused.", value=paused
        )


class Metrics:
    """The registry of one process."""

    def __init__(self, engine: Engine, *, cache_seconds: float = 5.0) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.live = Live()
        self.cache = SnapshotCache(engine, cache_seconds)
        self.deliveries = Counter(
            "ertui_deliveries",
            "Delivery outcomes of this worker, per MTA: sent, deferred, failed.",
            ["mta", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "ertui_delivery_duration_seconds",
            "Time of one SMTP delivery attempt, per MTA.",
            ["mta"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StoreCollector(self.cache, self.live))

    def observe(self, mta: str, outcome: str, duration: float | None) -> None:
        if outcome not in OUTCOMES:
            return
        self.deliveries.labels(mta=mta, outcome=outcome).inc()
        if duration is not None:
            self.duration.labels(mta=mta).observe(duration)

    def set_live(self, paused: bool, open_connections: dict[int, int]) -> None:
        self.live.paused = paused
        self.live.open_connections = dict(open_connections)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def serve(self, address: str, port: int) -> tuple[WSGIServer, int]:
        """Serve ``/metrics`` on a daemon thread; the server and its bound port
        (``port`` 0: a free one). Raises OSError when the address cannot be bound."""
        server, _thread = start_http_server(port, addr=address, registry=self.registry)
        return server, int(server.server_port)
