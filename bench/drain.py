"""Drain benchmark: 10,000 messages of 1 KiB to one MTA with 10 connections.

Run by hand (never by the test suite), as root or a user that may run
``smtp-sink -u nobody`` (Debian package ``postfix``):

    .venv/bin/python bench/drain.py [--count 10000] [--connections 10]
                                         [--rounds 3] [--skip-naive] [--naive-count N]
                                         [--processes 2] [--log-level info] [--before DIR]

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
import resource
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


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def run_ertui(
    url: str,
    count: int,
    tmp: str,
    log_level: str,
    processes: int = 1,
    source: str | None = None,
    *,
    reset: bool = True,
) -> tuple[float, float, float]:
    """Seconds for the whole command, for its drain (first to last log line:
    "worker … started" to "worker … stopped", so without interpreter start-up),
    and CPU seconds (user + system) of the whole command. ``source``: a folder
    holding another ``ertui`` package to run instead (e.g. ``git archive`` of
    an older commit), put first on PYTHONPATH. ``reset``: the messages made
    due again afterwards (else call ``reset_store``)."""
    log = Path(tmp) / "worker.log"
    log.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=source) if source else None
    cpu0 = _cpu(resource.RUSAGE_CHILDREN)
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
        env=env,
        cwd=tmp,  # (not the checkout: its own ertui would come first on sys.path)
    )
    elapsed = time.perf_counter() - t0
    cpu = _cpu(resource.RUSAGE_CHILDREN) - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"ertui worker failed: {proc.stderr.decode()}")
    lines = log.read_text().splitlines()
    drain = (_stamp(lines[-1]) - _stamp(lines[0])).total_seconds()
    if reset:
        reset_store(url, count)
    return elapsed, drain, cpu


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


def timed(coro: Any) -> tuple[float, float]:
    """Wall and CPU seconds of an in-process client."""
    loop = new_loop()
    try:
        cpu0 = _cpu(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        loop.run_until_complete(coro)
        return time.perf_counter() - t0, _cpu(resource.RUSAGE_SELF) - cpu0
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
    ap.add_argument(
        "--before",
        metavar="DIR",
        help="Also run the worker from another ertui package in DIR (e.g. `git archive COMMIT ertui | tar -x -C DIR`).",
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
        "before": f"ertui worker --once from {args.before} (whole command)",
        "before_drain": f"ertui worker --once from {args.before} (drain)",
        "multi": f"ertui worker --once --processes {args.processes} (whole command)",
        "bare": f"bare aiosmtplib, {c} connections",
        "naive": "naive EmailMessage + aiosmtplib.send",
        "source": f"smtp-source -s {c} -d -m {n} -l 1024",
    }
    rates: dict[str, list[float]] = {k: [] for k in names}
    cpus: dict[str, list[float]] = {k: [] for k in names}  # CPU seconds per 1,000 messages
    ratios: dict[str, list[float]] = {}  # per round: the same round's figures

    def ratio(name: str, value: float) -> None:
        ratios.setdefault(name, []).append(value)

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
            total, drain, cpu = run_ertui(url, n, tmp, args.log_level)
            rates["ertui"].append(n / total)
            rates["drain"].append(n / drain)
            cpus["ertui"].append(cpu * 1000 / n)
            if args.before:
                b_total, b_drain, b_cpu = run_ertui(url, n, tmp, args.log_level, source=args.before)
                rates["before"].append(n / b_total)
                rates["before_drain"].append(n / b_drain)
                cpus["before"].append(b_cpu * 1000 / n)
            if args.processes > 1:
                m_total, _, m_cpu = run_ertui(url, n, tmp, args.log_level, args.processes)
                rates["multi"].append(n / m_total)
                cpus["multi"].append(m_cpu * 1000 / n)
            wall, cpu_bare = timed(bare_client(sink.port, data, n, c))
            rates["bare"].append(n / wall)
            cpus["bare"].append(cpu_bare * 1000 / n)
            ratio("drain / bare", wall / drain)
            ratio("whole / bare", wall / total)
            if args.before:
                ratio("before drain / bare", wall / b_drain)
                ratio("after / before drain", b_drain / drain)
            if not args.skip_naive:
                nn = args.naive_count or n
                wall_naive, cpu_naive = timed(naive_loop(sink.port, nn))
                rates["naive"].append(nn / wall_naive)
                cpus["naive"].append(cpu_naive * 1000 / nn)
            cpu0 = _cpu(resource.RUSAGE_CHILDREN)
            wall_source = run_smtp_source(sink.port, n, c)
            rates["source"].append(n / wall_source)
            cpus["source"].append((_cpu(resource.RUSAGE_CHILDREN) - cpu0) * 1000 / n)
            ratio("drain / smtp-source", wall_source / drain)
            ratio("whole / smtp-source", wall_source / total)
    med = {k: statistics.median(v) for k, v in rates.items() if v}
    width = max(len(names[k]) for k in med)
    for key, rate in med.items():
        runs = ", ".join(f"{r:,.0f}" for r in rates[key])
        cpu_text = f"{statistics.median(cpus[key]):.3f} CPU s/1k" if cpus[key] else ""
        print(f"  {names[key]:<{width}}  {rate:>7,.0f} msgs/s  {cpu_text:>16}   ({runs})")
    print("  Ratios within each round (median; the rounds' own in brackets):")
    for name, values in ratios.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"    {name:<22} {statistics.median(values):.2f}   ({runs})")
    if "naive" in med:
        print(f"  ertui / naive loop   = {med['ertui'] / med['naive']:.1f} whole command  (target ≥ 3)")


if __name__ == "__main__":
    main()
