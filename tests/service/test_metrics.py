"""Prometheus metrics: a real `ertui worker --metrics-port 0` scraped after a
known drain, the 5-second cache, label escaping, `ertui metrics`."""

from __future__ import annotations

import signal
import time
import urllib.request
from collections.abc import Iterable

from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy.engine import Engine

from ertui import mtas, queue
from ertui.cli import cli
from ertui.service.metrics import Metrics, SnapshotCache
from tests.delivery.conftest import rename_raw
from tests.service.conftest import SmtpServer, add_mta, finish, start_worker, wait_for

NAME_B = 'Backup "B" \\ relay'  # a quote and a backslash: escaped by the library, parsed back exactly


def samples(text: str) -> list[Sample]:
    return [s for fam in text_string_to_metric_families(text) for s in fam.samples]


def value(found: Iterable[Sample], name: str, **labels: str) -> float:
    hits = [s.value for s in found if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(hits) == 1, f"{name}{labels}: {hits}"
    return hits[0]


def counts(engine: Engine) -> dict[str, int]:
    return dict(queue.stats(engine).counts)


def test_scrape_a_running_worker_after_a_known_drain(
    store: Engine, db_url: str, smtp_server: SmtpServer, second_server: SmtpServer
) -> None:
    second_server.behaviour.rcpt_reply = "550 5.1.1 no such user"
    a = add_mta(store, "A", smtp_server.port)
    b = add_mta(store, NAME_B, second_server.port, enabled=False)
    queue.enqueue_batch(store, [(f"a{i}@example.com", "s", "b") for i in range(20)])
    t0 = time.time()
    proc = start_worker(db_url, "--metrics-port", "0")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.startswith("metrics: http://127.0.0.1:") and line.rstrip().endswith("/metrics"), line
        url = line.split(" ", 1)[1].strip()
        wait_for(lambda: counts(store)["sent"] == 20, "20 sent through A")
        mtas.set_enabled(store, a.id or 0, False)
        mtas.set_enabled(store, b.id or 0, True)
        queue.enqueue_batch(store, [(f"b{i}@example.com", "s", "b") for i in range(5)])
        wait_for(lambda: counts(store)["failed"] == 5, "5 failed through B")
        mtas.set_enabled(store, a.id or 0, True)
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
            got = samples(resp.read().decode())
    finally:
        proc.send_signal(signal.SIGTERM)
        code, err = finish(proc)
    assert code == 0, err
    assert len(smtp_server.received) == 20 and not second_server.received
    assert value(got, "ertui_deliveries_total", mta="A", outcome="sent") == 20
    assert value(got, "ertui_deliveries_total", mta=NAME_B, outcome="failed") == 5
    assert not [s for s in got if s.name == "ertui_deliveries_total" and s.labels["outcome"] == "deferred"]
    assert value(got, "ertui_delivery_duration_seconds_count", mta="A") == 20
    assert value(got, "ertui_delivery_duration_seconds_count", mta=NAME_B) == 5
    assert value(got, "ertui_delivery_duration_seconds_bucket", mta="A", le="+Inf") == 20
    assert value(got, "ertui_delivery_duration_seconds_sum", mta="A") > 0
    for status, n in {"sent": 20, "failed": 5, "queued": 0, "sending": 0, "deferred": 0, "held": 0}.items():
        assert value(got, "ertui_queue_messages", status=status) == n
    assert value(got, "ertui_queue_oldest_unsent_seconds") == 0
    assert value(got, "ertui_mta_up", mta="A") == 1
    assert value(got, "ertui_mta_up", mta=NAME_B) == 1  # refusing a recipient is not the MTA failing
    assert value(got, "ertui_mta_open_connections", mta="A") >= 0
    assert value(got, "ertui_mta_open_connections", mta=NAME_B) >= 0
    assert value(got, "ertui_worker_heartbeat_timestamp_seconds") >= int(t0) - 1
    assert value(got, "ertui_worker_paused") == 0


def test_an_mta_cooling_down_is_down_and_oldest_unsent_counts(store: Engine, smtp_server: SmtpServer) -> None:
    a = add_mta(store, "A", smtp_server.port)
    add_mta(store, "B", smtp_server.port)
    mtas.record_failure(store, a.id or 0, "connection refused", cooldown=lambda n: 600)
    queue.enqueue(store, "x@example.com", "s", "b")
    got = samples(Metrics(store).exposition().decode())
    assert value(got, "ertui_mta_up", mta="A") == 0
    assert value(got, "ertui_mta_up", mta="B") == 1
    assert value(got, "ertui_queue_messages", status="queued") == 1
    assert value(got, "ertui_queue_oldest_unsent_seconds") >= 0
    # no worker in this process: its own gauges are not made up
    assert not [s for s in got if s.name == "ertui_mta_open_connections"]


def test_queue_gauges_are_computed_at_most_every_5_seconds(store: Engine) -> None:
    now = [100.0]
    cache = SnapshotCache(store, 5.0, clock=lambda: now[0])
    for _ in range(50):
        cache.get()
    assert cache.queries == 1
    queue.enqueue(store, "x@example.com", "s", "b")
    now[0] += 4.9
    assert cache.get().counts["queued"] == 0 and cache.queries == 1
    now[0] += 0.1
    assert cache.get().counts["queued"] == 1 and cache.queries == 2


def test_label_values_are_escaped_by_the_library(store: Engine, smtp_server: SmtpServer) -> None:
    tricky = 'new\nline "q" \\ back'
    add_mta(store, "ok", smtp_server.port)
    m = Metrics(store)
    m.observe(tricky, "sent", 0.2)
    m.observe(tricky, "mta_error", 0.2)  # not a delivery outcome: not counted
    text = m.exposition().decode()
    assert 'mta="new\\nline \\"q\\" \\\\ back"' in text
    got = samples(text)
    assert value(got, "ertui_deliveries_total", mta=tricky, outcome="sent") == 1
    assert not [s for s in got if s.labels.get("outcome") == "mta_error"]


def test_ertui_metrics_prints_the_exposition_once(store: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    add_mta(store, "A", smtp_server.port)
    queue.enqueue(store, "x@example.com", "s", "b")
    res = CliRunner().invoke(cli, ["--db", db_url, "metrics"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    got = samples(res.stdout)
    assert value(got, "ertui_queue_messages", status="queued") == 1
    assert value(got, "ertui_mta_up", mta="A") == 1
    assert value(got, "ertui_worker_heartbeat_timestamp_seconds") == 0


def test_metrics_port_bad_or_with_processes_exit_2(store: Engine, db_url: str) -> None:
    for args, option in (
        (["--metrics-port", "70000"], "--metrics-port"),
        (["--metrics-port", "0", "--processes", "2"], "--metrics-port"),
        (["--metrics-port", "0", "--metrics-address", " "], "--metrics-address"),  # "" would bind everywhere
        (["--metrics-port", "0", "--metrics-address", "not an address!"], "--metrics-address"),
    ):
        code, err = finish(start_worker(db_url, "--once", *args))
        assert code == 2 and "Traceback" not in err and option in err, err


def test_metrics_port_taken_exit_2_one_sentence(store: Engine, db_url: str) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = finish(start_worker(db_url, "--once", "--metrics-port", str(port)))
    assert code == 2 and "Traceback" not in err and "cannot serve on 127.0.0.1" in err, err


def test_a_store_that_cannot_be_read_is_store_up_0_not_a_traceback(store: Engine, smtp_server: SmtpServer) -> None:
    from sqlalchemy import text

    m = Metrics(store)
    server, port = m.serve("127.0.0.1", 0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            assert value(samples(resp.read().decode()), "ertui_store_up") == 1
        with store.begin() as conn:
            conn.execute(text("ALTER TABLE message RENAME TO message_gone"))
        m.cache.seconds = 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            assert resp.status == 200
            got = samples(resp.read().decode())
    finally:
        server.shutdown()
        server.server_close()
    assert value(got, "ertui_store_up") == 0
    assert not [s for s in got if s.name == "ertui_queue_messages"]  # no stale figures


def test_ertui_metrics_on_a_terminal_shows_labels_safely(store: Engine, db_url: str, smtp_server: SmtpServer) -> None:
    import os
    import pty
    import subprocess

    from tests.service.conftest import ERTUI, worker_env

    rename_raw(store, add_mta(store, "evil", smtp_server.port), "evil\x1b]0;pwned\x07")
    exact = subprocess.run([ERTUI, "--db", db_url, "metrics"], capture_output=True, env=worker_env(), timeout=60)
    assert 'mta="evil\x1b]0;pwned\x07"' in exact.stdout.decode()  # a file or a pipe: exact text
    main, sub = pty.openpty()
    try:
        proc = subprocess.run([ERTUI, "--db", db_url, "metrics"], stdout=sub, env=worker_env(), timeout=60)
        os.close(sub)
        out = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(main)
    assert proc.returncode == 0
    assert b"ertui_mta_up" in out and b"\x1b" not in out and b"\x07" not in out
