"""PostgreSQL scaling: 1, 2 and 4 worker processes sharing one queue.

Run by hand (never by the test suite), as root on Debian with ``postgresql``
and ``postfix`` (for ``smtp-sink``) installed:

    .venv/bin/python bench/scale_pg.py [--count 40000] [--connections 10] [--workers 1 2 4]
                                       [--pg-url URL]

Without ``--pg-url`` it makes a throwaway cluster on a free loopback port, as
``.ci/run`` does (``pg_createcluster``, dropped at the end). Two MTAs with
``--connections`` connections each deliver into two ``smtp-sink`` processes
that dump every message to a file; for each worker count it reports msgs/s
(enqueue excluded), duplicates (Message-IDs seen twice at the sinks: 0
expected, nothing is killed) and the peak established connections to each
sink, sampled every 20 ms from /proc/net/tcp (must never exceed
``--connections``).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from ertui import mtas, queue, settings
from ertui.store.engine import make_engine

BODY = ("PostgreSQL scaling benchmark. " * 30)[:700]
ERTUI = str(Path(sys.executable).with_name("ertui"))
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.I | re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    version = sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: [int(x) for x in v.split(".")])[-1]
    name, port = f"ertui_bench_{os.getpid()}", free_port()
    subprocess.run(["pg_createcluster", version, name, "-p", str(port)], check=True, capture_output=True)
    try:
        subprocess.run(["pg_ctlcluster", version, name, "start"], check=True)
        psql = ["su", "postgres", "-c"]
        subprocess.run(
            [*psql, f"psql -q -p {port} -c \"CREATE ROLE bench LOGIN PASSWORD 'bench' CREATEDB\""], check=True
        )
        subprocess.run([*psql, f"createdb -p {port} -O bench bench"], check=True)
        yield f"postgresql://bench:bench@127.0.0.1:{port}/bench"
    finally:
        subprocess.run(["pg_dropcluster", "--stop", version, name], capture_output=True)


class Sink:
    """``smtp-sink`` dumping each message into its own file under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        folder.mkdir(parents=True)
        shutil.chown(folder, "nobody")
        exe = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        self.proc = subprocess.Popen(
            [exe, "-u", "nobody", "-d", f"{folder}/%H%M%S.", f"127.0.0.1:{self.port}", "1000"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.05)
        raise SystemExit("smtp-sink did not start")

    def message_ids(self) -> list[bytes]:
        found = []
        for path in self.folder.iterdir():
            match = MESSAGE_ID.search(path.read_bytes())
            if match:
                found.append(match.group(1))
        return found

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


def established(ports: set[int]) -> dict[int, int]:
    """Established TCP connections to each of ``ports`` on 127.0.0.1 (/proc/net/tcp)."""
    counts = dict.fromkeys(ports, 0)
    with open("/proc/net/tcp") as fh:
        next(fh)
        for line in fh:
            fields = line.split()
            remote, state = fields[2], fields[3]
            port = int(remote.split(":")[1], 16)
            if state == "01" and port in counts:  # 01: ESTABLISHED, client side
                counts[port] += 1
    return counts


class PeakSampler(threading.Thread):
    def __init__(self, ports: set[int]) -> None:
        super().__init__(daemon=True)
        self.ports = ports
        self.peak = dict.fromkeys(ports, 0)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            for port, n in established(self.ports).items():
                self.peak[port] = max(self.peak[port], n)
            time.sleep(0.02)


def one_round(url: str, count: int, connections: int, workers: int, tmp: Path) -> dict[str, float]:
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in ("attempt", "message", "mta_slot", "mta", "worker"):
            conn.execute(text(f"DELETE FROM {table}"))
    sinks = [Sink(tmp / f"sink-{workers}-{i}") for i in range(2)]
    try:
        for i, sink in enumerate(sinks):
            mtas.add(engine, description=f"sink {i}", host="127.0.0.1", port=sink.port, max_connections=connections)
        items = [(f"user{i}@example.com", f"Scaling {i}", BODY) for i in range(count)]
        queue.enqueue_batch(engine, items)
        sampler = PeakSampler({s.port for s in sinks})
        sampler.start()
        env = dict(os.environ, ERTUI_WORKER_LOG_LEVEL="warning")
        started = time.perf_counter()
        procs = [
            subprocess.Popen([ERTUI, "--db", url, "worker", "--once", "--log-level", "warning"], env=env)
            for _ in range(workers)
        ]
        for proc in procs:
            proc.wait()
        elapsed = time.perf_counter() - started
        sampler.stopped.set()
        sampler.join()
        ids = [mid for sink in sinks for mid in sink.message_ids()]
        seen = collections.Counter(ids)
        unsent = queue.count_messages(engine, status="unsent")
        return {
            "msgs_per_s": count / elapsed,
            "delivered": len(seen),
            "duplicates": sum(n - 1 for n in seen.values() if n > 1),
            "unsent": unsent,
            "peak_a": sampler.peak[sinks[0].port],
            "peak_b": sampler.peak[sinks[1].port],
        }
    finally:
        for sink in sinks:
            sink.stop()
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=40_000)
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--pg-url", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name, contextlib.ExitStack() as stack:
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o755)
        os.environ.setdefault("XDG_CONFIG_HOME", str(tmp / "config"))
        url = args.pg_url or stack.enter_context(throwaway_cluster())
        engine = make_engine(url)
        settings.set_admin_email(engine, "admin@example.com")
        settings.set_master_host(engine, "bench.example.com")
        engine.dispose()
        print(f"{args.count:,} messages, 2 MTAs x {args.connections} connections into two smtp-sinks, PostgreSQL")
        print("workers  msgs/s  delivered  duplicates  unsent  peak conns A/B")
        for n in args.workers:
            r = one_round(url, args.count, args.connections, n, tmp)
            print(
                f"{n:>7}  {r['msgs_per_s']:>6,.0f}  {r['delivered']:>9,.0f}  {r['duplicates']:>10.0f}"
                f"  {r['unsent']:>6.0f}  {r['peak_a']:.0f}/{r['peak_b']:.0f}"
            )


if __name__ == "__main__":
    main()
