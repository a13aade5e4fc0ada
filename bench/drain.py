"""Drain benchmark: 10,000 messages of 1 KiB to one MTA with 10 connections.

Run by hand (never by the test suite), as root or a user that may run
``smtp-sink -u nobody`` (Debian package ``postfix``):

    .venv/bin/python bench/drain.py [--count 10000] [--connections 10]
                                         [--rounds 3] [--skip-naive] [--naive-count N]
                                         [--processes 2] [--log-level info]

Starts Postfix's ``smtp-sink -u nobody 127.0.0.1:PORT 1000`` on a free port
(stopped at the end) and prints msgs/s, side by side, for:

1. ``ertui worker --once`` on a fresh SQLite store holding the 10,000 messages
   (the whole process: start-up, claims, sends, result writes, exit), and the
   same with ``--processes 2`` (forked workers sharing the 10 connections);
2. a bare aiosmtplib client sending the same bytes over 10 reused connections
   (the client-side limit of Python + aiosmtplib);
3. a naive loop that builds an ``EmailMessage`` and calls ``aiosmtplib.send``
   per message;
4. ``smtp-source -s 10 -d -m 10000 -l 1024`` (the machine's limit).

The Python clients use uvloop when it is installed, as ``ertui worker`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from ertui.delivery.runner import new_loop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ERTUI = str(Path(sys.executable).with_name("ertui"))
SENDER = "admin@example.com"
BODY = ("Ertui benchmark message. " * 40)[:718]  # the rendered message is 1 KiB


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Sink:
        exe = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        self.proc = subprocess.Popen(
            [exe, "-u", "nobody", f"127.0.0.1:{self.port}", "1000"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise SystemExit("smtp-sink did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(5)


def prepare_store(tmp: str, port: int, count: int, connections: int) -> tuple[str, list[bytes]]:
    from ertui import mtas, queue, settings
    from ertui.store.engine import make_engine

    url = f"sqlite:///{tmp}/drain.db"
    engine = make_engine(url)
    settings.set_admin_email(engine, SENDER)
    settings.set_master_host(engine, "bench.example.com")
    mtas.add(engine, description="smtp-sink", host="127.0.0.1", port=port, max_connections=connections)
    items = [(f"user{i}@example.com", f"Benchmark message {i}", BODY) for i in range(count)]
    ids = queue.enqueue_batch(engine, items)
    sample = [queue.get_message(engine, i).raw for i in ids[:1]]
    engine.dispose()
    return url, sample


def _stamp(line: str) -> datetime:
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")  # noqa: DTZ007 (local, both)


def run_ertui(
    url: str, count: int, tmp: str, log_level: str, processes: int = 1, *, reset: bool = True
) -> tuple[float, float]:
    """Seconds for the whole command, and for its drain (first to last log line:
    "worker … started" to "worker … stopped", so without interpreter start-up);
    ``reset``: the messages made due again afterwards (else call ``reset_store``)."""
    log = Path(tmp) / "worker.log"
    log.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            ERTUI,
            "--db",
            url,
            "worker",
            "--once",
            "--processes",
            str(processes),
            "--log-file",
            str(log),
            "--log-level",
            log_level,
        ],
        capture_output=True,
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ertui worker failed: {proc.stderr.decode()}")
    lines = log.read_text().splitlines()
    drain = (_stamp(lines[-1]) - _stamp(lines[0])).total_seconds()
    if reset:
        reset_store(url, count)
    return elapsed, drain


def reset_store(url: str, count: int) -> None:
    """Check that all ``count`` were sent, then make them due again for the next round."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    with eng.begin() as conn:
        sent = conn.execute(text("SELECT count(*) FROM message WHERE status='sent'")).scalar_one()
        # Ready for the next round: the same messages, due again.
        conn.execute(text("UPDATE message SET status='queued', attempts=0, sent_at=NULL"))
        conn.execute(text("DELETE FROM attempt"))
    eng.dispose()
    if sent != count:
        raise SystemExit(f"ertui delivered {sent} of {count}")


async def bare_client(port: int, data: bytes, count: int, connections: int) -> None:
    import aiosmtplib

    todo = iter(range(count))

    async def one_connection() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await smtp.connect()
        for i in todo:
            await smtp.sendmail(SENDER, [f"user{i}@example.com"], data)
        await smtp.quit()

    await asyncio.gather(*(one_connection() for _ in range(connections)))


async def naive_loop(port: int, count: int) -> None:
    import aiosmtplib

    for i in range(count):
        msg = EmailMessage()
        msg["From"] = SENDER
        msg["To"] = f"user{i}@example.com"
        msg["Subject"] = f"Benchmark message {i}"
        msg.set_content(BODY)
        await aiosmtplib.send(msg, hostname="127.0.0.1", port=port, start_tls=False)


def timed(coro: Any) -> float:
    loop = new_loop()
    try:
        t0 = time.perf_counter()
        loop.run_until_complete(coro)
        return time.perf_counter() - t0
    finally:
        loop.close()


def run_smtp_source(port: int, count: int, connections: int) -> float:
    exe = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    t0 = time.perf_counter()
    subprocess.run(
        [exe, "-s", str(connections), "-d", "-m", str(count), "-l", "1024", f"127.0.0.1:{port}"],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3, help="Runs of each contender, interleaved; the median is shown.")
    ap.add_argument("--naive-count", type=int, default=None, help="Messages for the naive loop (default: --count).")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--processes", type=int, default=2, help="Also run `ertui worker --once --processes N` (1: skip).")
    ap.add_argument(
        "--log-level", default="info", help="The worker's --log-level (info: one line per message, the default)."
    )
    args = ap.parse_args()
    n, c = args.count, args.connections
    try:
        import uvloop  # noqa: F401

        loop_name = "uvloop"
    except ImportError:
        loop_name = "asyncio"
    names = {
        "ertui": "ertui worker --once (whole command)",
        "drain": "ertui worker --once (drain, after start-up)",
        "multi": f"ertui worker --once --processes {args.processes} (whole command)",
        "bare": f"bare aiosmtplib, {c} connections",
        "naive": "naive EmailMessage + aiosmtplib.send",
        "source": f"smtp-source -s {c} -d -m {n} -l 1024",
    }
    rates: dict[str, list[float]] = {k: [] for k in names}
    with tempfile.TemporaryDirectory() as tmp, Sink() as sink:
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        url, sample = prepare_store(tmp, sink.port, n, c)
        data = sample[0]
        print(
            f"{n} messages of {len(data)} bytes, smtp-sink on 127.0.0.1:{sink.port}, "
            f"{c} connections, {loop_name}, worker log level {args.log_level}, "
            f"median of {args.rounds} interleaved rounds"
        )
        for _ in range(args.rounds):
            total, drain = run_ertui(url, n, tmp, args.log_level)
            rates["ertui"].append(n / total)
            rates["drain"].append(n / drain)
            if args.processes > 1:
                total, _ = run_ertui(url, n, tmp, args.log_level, args.processes)
                rates["multi"].append(n / total)
            rates["bare"].append(n / timed(bare_client(sink.port, data, n, c)))
            if not args.skip_naive:
                nn = args.naive_count or n
                rates["naive"].append(nn / timed(naive_loop(sink.port, nn)))
            rates["source"].append(n / run_smtp_source(sink.port, n, c))
    med = {k: statistics.median(v) for k, v in rates.items() if v}
    width = max(len(names[k]) for k in med)
    for key, rate in med.items():
        runs = ", ".join(f"{r:,.0f}" for r in rates[key])
        print(f"  {names[key]:<{width}}  {rate:>7,.0f} msgs/s   ({runs})")
    print(
        f"  ertui / bare client  = {med['ertui'] / med['bare']:.2f} whole command, "
        f"{med['drain'] / med['bare']:.2f} drain  (target ≥ 0.7)"
    )
    if "multi" in med:
        print(f"  ertui --processes {args.processes} / bare client = {med['multi'] / med['bare']:.2f} whole command")
    if "naive" in med:
        print(f"  ertui / naive loop   = {med['ertui'] / med['naive']:.1f} whole command  (target ≥ 3)")
    print(
        f"  ertui / smtp-source  = {med['ertui'] / med['source']:.2f} whole command, "
        f"{med['drain'] / med['source']:.2f} drain"
    )


if __name__ == "__main__":
    main()
