"""Enqueue benchmark: 10,000 messages of 1 KiB in one batch into a fresh SQLite store.

Run by hand (never by the test suite):

    .venv/bin/python bench/enqueue.py [--count 10000] [--db URL]

Prints msgs/s for ``ertui.queue.enqueue_batch`` (validation, rendering of the
final bytes and the insert, all included). Target: ≥ 10,000 msgs/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BODY = ("Ertui benchmark message. " * 40)[:718]  # the rendered message is 1 KiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--db", default=None, help="Store URL (default: a fresh SQLite file).")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("XDG_CONFIG_HOME", str(Path(tmp) / "config"))
        from ertui import queue, settings
        from ertui.store.engine import make_engine

        engine = make_engine(args.db or f"sqlite:///{tmp}/bench.db")
        settings.set_admin_email(engine, "admin@example.com")
        settings.set_master_host(engine, "bench.example.com")
        items = [(f"user{i}@example.com", f"Benchmark message {i}", BODY) for i in range(args.count)]
        t0 = time.perf_counter()
        ids = queue.enqueue_batch(engine, items)
        elapsed = time.perf_counter() - t0
        assert len(ids) == args.count
        size = len(queue.get_message(engine, ids[0]).raw)
        print(
            f"enqueue_batch: {args.count} messages of {size} bytes in {elapsed:.3f} s "
            f"= {args.count / elapsed:,.0f} msgs/s"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
