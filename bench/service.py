"""The service features' costs on a large store: the monitoring snapshot (one
aggregation query), a scrape of /metrics, and the retention purge (how long
each batch of 1,000 holds SQLite's write lock).

    .venv/bin/python bench/service.py            # --rows 200000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from ertui import queue, settings
from ertui.service import retention, snapshot
from ertui.service.metrics import Metrics
from ertui.store.engine import make_engine
from ertui.store.models import Message
from ertui.timeutil import utcnow

T = Message.__table__  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        settings.set_admin_email(engine, "admin@example.com")
        t0 = time.perf_counter()
        for start in range(0, args.rows, 10_000):
            n = min(10_000, args.rows - start)
            queue.enqueue_batch(engine, [(f"u{start + i}@example.com", "s", "b") for i in range(n)])
        old = utcnow() - timedelta(days=40)
        with engine.begin() as conn:  # 90 % old sent, the rest queued
            conn.execute(update(T).where(T.c.id <= args.rows * 9 // 10).values(status="sent", sent_at=old))
        print(f"store: {args.rows:,} messages in {time.perf_counter() - t0:.1f} s")

        times = []
        for _ in range(10):
            t = time.perf_counter()
            snapshot.take(engine)
            times.append(time.perf_counter() - t)
        print(f"snapshot.take: median {statistics.median(times) * 1000:.1f} ms over 10")

        m = Metrics(engine, cache_seconds=0)
        server, port = m.serve("127.0.0.1", 0)
        scrapes = []
        for _ in range(10):
            t = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as resp:
                resp.read()
            scrapes.append(time.perf_counter() - t)
        server.shutdown()
        server.server_close()
        print(f"scrape /metrics (no cache): median {statistics.median(scrapes) * 1000:.1f} ms over 10")

        batches = []
        guard = retention.guards(engine)[0]
        t0 = time.perf_counter()
        while True:
            t = time.perf_counter()
            n = retention.purge_batch(engine, guard)
            batches.append(time.perf_counter() - t)
            if not n:
                break
        total = time.perf_counter() - t0
        print(
            f"purge: {args.rows * 9 // 10:,} rows in {total:.1f} s, {len(batches) - 1} batches; "
            f"one batch holds the lock: median {statistics.median(batches) * 1000:.1f} ms, "
            f"max {max(batches) * 1000:.1f} ms"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
