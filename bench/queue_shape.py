"""Queue shape benchmark: `queue shape` over 100,000 unsent messages on SQLite.

Run by hand (never by the test suite):

    .venv/bin/python bench/queue_shape.py [--count 100000] [--domains 500] [--rounds 5]

Fills a fresh store with ``--count`` messages over ``--domains`` recipient
domains, ages spread over three days, then times ``ertui.queue_shape.shape``
by domain and by MTA (median of ``--rounds``) and the whole `ertui queue shape`
command as a process. Goal: under 0.5 s on SQLite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from ertui import queue, queue_shape, settings
from ertui.store.engine import make_engine
from ertui.timeutil import utcnow


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--domains", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        url = f"sqlite:///{tmp}/shape.db"
        engine = make_engine(url)
        settings.set_admin_email(engine, "admin@example.com")
        settings.set_master_host(engine, "bench.example.com")
        items = [(f"user{i}@d{i % args.domains}.example.com", f"Report {i}", "Body") for i in range(args.count)]
        queue.enqueue_batch(engine, items)
        now = utcnow()
        with engine.begin() as conn:  # spread the ages over three days
            for minutes in range(0, 3 * 24 * 60, 60):
                stamp = (now - timedelta(minutes=minutes)).replace(tzinfo=None).isoformat(sep=" ")
                conn.execute(
                    text("UPDATE message SET created_at = :t WHERE id % 72 = :k"),
                    {"t": stamp, "k": minutes // 60},
                )
        for by in ("domain", "mta"):
            times = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                result = queue_shape.shape(engine, by=by)
                times.append(time.perf_counter() - t0)
            assert result.total.total == args.count
            median = statistics.median(times)
            print(f"shape --by {by}: {args.count:,} messages, {len(result.rows)} rows, median {median:.3f} s")
        exe = Path(sys.executable).parent / "ertui"
        t0 = time.perf_counter()
        subprocess.run([str(exe), "--db", url, "queue", "shape", "--top", "20"], check=True, capture_output=True)
        print(f"`ertui queue shape --top 20` as a whole process: {time.perf_counter() - t0:.3f} s")
        engine.dispose()


if __name__ == "__main__":
    main()
