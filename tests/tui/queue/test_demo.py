"""The demo's core (no Textual): its store, its sink, and failover through a real worker."""

from __future__ import annotations

import smtplib

from ertui import mtas, queue, settings
from ertui.delivery.worker import Worker
from ertui.demo import (
    ADMIN_EMAIL,
    BROKEN_MTA,
    HEALTHY_MTA,
    MASTER_HOST,
    DemoSink,
    demo_environment,
    setup_store,
)


def test_the_sink_counts_what_it_receives() -> None:
    with DemoSink() as sink:
        assert sink.port > 0
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as client:
            client.sendmail("a@example.com", ["b@example.com"], b"Subject: hi\r\n\r\nhello\r\n")
        assert sink.received == 1 and sink.recipients == ["b@example.com"]


async def test_demo_store_delivers_to_the_sink_with_failover(db_url: str) -> None:
    with demo_environment(db_url, messages=12) as demo:
        engine = demo.engine
        rows = {m.description: m for m in mtas.list_mtas(engine)}
        assert set(rows) == {HEALTHY_MTA, BROKEN_MTA}
        assert rows[HEALTHY_MTA].port == demo.sink.port
        assert all(m.enabled and m.host == "127.0.0.1" for m in rows.values())
        assert settings.admin_email(engine) == ADMIN_EMAIL
        assert settings.master_host(engine).valid
        assert queue.count_messages(engine) == 12 == len(demo.message_ids)
        assert demo.status_line() == "Demo sink received 0 messages"

        await Worker(engine).run(once=True)

        assert demo.sink.received == 12
        assert demo.status_line() == "Demo sink received 12 messages"
        assert queue.count_messages(engine) == 0
        assert queue.count_messages(engine, status="sent") == 12
        broken = mtas.get(engine, BROKEN_MTA)
        assert broken.last_error and broken.last_error_at is not None
        assert mtas.get(engine, HEALTHY_MTA).last_error is None


def test_setup_reuses_a_store(engine: object) -> None:
    from sqlalchemy.engine import Engine

    assert isinstance(engine, Engine)
    settings.set_admin_email(engine, "postmaster@example.org")
    with DemoSink() as first:
        setup_store(engine, first.port, messages=2)
    with DemoSink() as second:
        setup_store(engine, second.port, messages=3)
        assert mtas.get(engine, HEALTHY_MTA).port == second.port
    assert len(mtas.list_mtas(engine)) == 2
    assert queue.count_messages(engine) == 5
    # the store's own administrator stays; the host name was unset, so the demo's is used
    assert settings.admin_email(engine) == "postmaster@example.org"
    assert settings.master_host(engine).name == MASTER_HOST


def test_demo_command_is_registered() -> None:
    from click.testing import CliRunner

    from ertui.cli import cli

    result = CliRunner().invoke(cli, ["demo", "--help"])
    assert result.exit_code == 0, result.output
    assert "--db URL" in result.output and "--messages" in result.output


def test_trickle_keeps_queueing_until_the_demo_ends(db_url: str) -> None:
    import time

    with demo_environment(db_url, messages=2, trickle_every=0.05) as demo:
        deadline = time.monotonic() + 10
        while queue.count_messages(demo.engine, status="all") < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert queue.count_messages(demo.engine, status="all") >= 5
        engine_url = demo.db_url
    from ertui.store.engine import make_engine

    eng = make_engine(engine_url)
    after = queue.count_messages(eng, status="all")
    time.sleep(0.3)
    assert queue.count_messages(eng, status="all") == after  # stopped with the demo
    eng.dispose()
