"""Soak: two workers under SIGSTOP/SIGCONT and SIGKILL, against a server that
counts concurrent connections and Message-IDs (issue 10, "Done when").

Run by hand (never by the test suite):

    .venv/bin/python bench/soak.py [--count 5000] [--limit 2] [--lease 2]
                                   [--every 1.0 4.0] [--kill-share 0.4] [--seed 1]
                                   [--db postgresql://…]

On a fresh SQLite store it enqueues ``--count`` messages to one MTA with
``--limit`` max concurrent connections, an aiosmtpd server on 127.0.0.1 (port
0; ``tests/smtpd.py``, 5 ms in DATA so that signals land mid-transaction),
and runs two ``ertui worker`` processes with a ``--lease`` of a few seconds.
Every ``--every`` seconds (random within the range) one of them, at random,
is either stopped with SIGSTOP for 0.5-3 leases and then continued, or (a
``--kill-share`` of the events) killed with SIGKILL and started again. When every message is sent it prints:

- lost: messages whose Message-ID never reached the server (must be 0);
- duplicates: Message-IDs that arrived more than once, against the documented
  bound (only a SIGKILL repeats: at most ``flush_every`` + one in flight per
  connection, per kill);
- the peak of concurrent connections the server saw (never above the limit).

Exit status 1 when one of those fails.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ertui import mtas, queue, settings  # noqa: E402
from ertui.delivery.settings import WorkerSettings  # noqa: E402
from ertui.store.engine import make_engine  # noqa: E402
from tests.smtpd import SmtpServer  # noqa: E402

ERTUI = str(Path(sys.executable).with_name("ertui"))
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def received_ids(server: SmtpServer) -> Counter[bytes]:
    out: Counter[bytes] = Counter()
    for r in list(server.received):
        found = MESSAGE_ID.search(r.data)
        out[found.group(1) if found else b"?"] += 1
    return out


class Workers:
    """Two `ertui worker` processes, each restarted after a SIGKILL."""

    def __init__(self, url: str, lease: float, logs: Path) -> None:
        self.url, self.lease, self.logs = url, lease, logs
        self.env = dict(os.environ, ERTUI_WORKER_POLL_INTERVAL="0.1", ERTUI_WORKER_IDLE_CLOSE_SECONDS="1")
        self.procs: list[subprocess.Popen[bytes]] = [self._start(i) for i in range(2)]
        self.started = 2

    def _start(self, i: int) -> subprocess.Popen[bytes]:
        log = self.logs / f"worker{i}.log"
        cmd = [ERTUI, "--db", self.url, "worker", "--lease-seconds", f"{self.lease:g}", "--log-file", str(log)]
        return subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill_and_restart(self, i: int) -> None:
        self.procs[i].send_signal(signal.SIGCONT)
        self.procs[i].kill()
        self.procs[i].wait()
        self.procs[i] = self._start(i)
        self.started += 1

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGCONT)
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--limit", type=int, default=2, help="the MTA's max concurrent connections")
    ap.add_argument("--lease", type=float, default=2.0, help="the workers' --lease-seconds")
    ap.add_argument("--every", type=float, nargs=2, default=(1.0, 4.0), metavar=("MIN", "MAX"))
    ap.add_argument("--kill-share", type=float, default=0.4, help="share of SIGKILLs (0: SIGSTOPs only)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--deadline", type=float, default=900.0, help="give up after this many seconds")
    ap.add_argument("--db", help="an empty store to use (e.g. a PostgreSQL URL); default: a new SQLite file")
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="ertui-soak-"))
    url = args.db or f"sqlite:///{tmp}/soak.db"
    engine = make_engine(url)
    settings.set_admin_email(engine, "admin@example.com")
    settings.set_master_host(engine, "soak.example.com")
    stops = kills = 0
    with SmtpServer("plain") as server:
        server.behaviour.data_delay = 0.005
        mtas.add(engine, description="soak", host="127.0.0.1", port=server.port, max_connections=args.limit)
        queue.enqueue_batch(engine, [(f"user{i}@example.com", f"Soak {i}", "soak body") for i in range(args.count)])
        started = time.monotonic()
        workers = Workers(url, args.lease, tmp)
        try:
            while len(received_ids(server)) < args.count and time.monotonic() - started < args.deadline:
                time.sleep(rnd.uniform(*args.every))
                i = rnd.randrange(2)
                if rnd.random() >= args.kill_share:
                    stops += 1
                    workers.procs[i].send_signal(signal.SIGSTOP)
                    time.sleep(rnd.uniform(0.5, 3.0) * args.lease)
                    workers.procs[i].send_signal(signal.SIGCONT)
                else:
                    kills += 1
                    workers.kill_and_restart(i)
        finally:
            workers.stop()
        elapsed = time.monotonic() - started
        ids = received_ids(server)
        peak = server.max_seen_connections
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT status, count(*) FROM message GROUP BY status").all()
    statuses: Counter[str] = Counter({str(s): int(n) for s, n in rows})
    engine.dispose()
    lost = args.count - len(ids)
    duplicates = sum(n - 1 for n in ids.values() if n > 1)
    bound = kills * (WorkerSettings().flush_every + args.limit)
    print(f"messages {args.count}, limit {args.limit}, lease {args.lease:g} s, seed {args.seed}")
    print(f"elapsed {elapsed:.1f} s; SIGSTOPs {stops}, SIGKILLs {kills} ({workers.started} worker starts)")
    print(f"store: {dict(statuses)}")
    print(f"lost: {lost}")
    per_kill = WorkerSettings().flush_every + args.limit
    print(f"duplicates: {duplicates} (bound: {bound} = {kills} kills x ({per_kill}))")
    print(f"peak concurrent connections: {peak} (limit {args.limit})")
    ok = lost == 0 and duplicates <= bound and peak <= args.limit and statuses.get("sent") == args.count
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
