"""The delivery worker in-process against real aiosmtpd servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ertui import mtas, queue
from ertui.delivery import policy
from ertui.delivery.worker import DeliveryEvent, Worker, WorkerSettings
from ertui.errors import ValidationError
from ertui.mta_rules import Security
from ertui.store.models import Attempt, Message
from ertui.timeutil import utcnow
from tests.delivery.conftest import add_mta, fast_settings, run_worker
from tests.smtpd import RawServer, SmtpServer, closed_port, greet_421

T = Message.__table__  # type: ignore[attr-defined]
A = Attempt.__table__  # type: ignore[attr-defined]


def statuses(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter({s: n for s, n in conn.execute(select(T.c.status, func.count()).group_by(T.c.status))})


def attempt_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(A)).scalar_one())


def enqueue_n(engine: Engine, n: int, prefix: str = "user") -> list[int]:
    return queue.enqueue_batch(engine, [(f"{prefix}{i}@example.com", f"Message {i}", f"Body {i}") for i in range(n)])


def test_delivers_the_rendered_bytes_and_logs_the_attempt(store: Engine, smtp_server: SmtpServer) -> None:
    add_mta(store, "relay", smtp_server.port)
    [mid] = queue.enqueue(store, "ops@example.com", "Grüße", "Hallo")
    events: list[DeliveryEvent] = []
    run_worker(store, events=events)
    [got] = smtp_server.received
    assert got.mail_from == "admin@example.com" and got.rcpt_tos == ["ops@example.com"]
    assert email.message_from_bytes(got.data)["Message-ID"] == queue.get_message(store, mid).message_id
    m = queue.get_message(store, mid)
    assert (m.status, m.attempts) == ("sent", 1)
    assert m.server_reply and "TEST00001" in m.server_reply and m.sent_at is not None
    [att] = queue.attempts_for(store, mid)
    assert (att.outcome, att.code, att.mta_description) == ("sent", 250, "relay")
    assert [(e.message_id, e.outcome) for e in events] == [(mid, "sent")]
    relay = mtas.get(store, "relay")
    assert relay.sent_count == 1 and relay.last_success_at is not None


def test_two_equal_mtas_share_the_queue_fairly(
    store: Engine, smtp_server: SmtpServer, second_server: SmtpServer
) -> None:
    smtp_server.behaviour.data_delay = second_server.behaviour.data_delay = 0.003
    add_mta(store, "a", smtp_server.port, max_connections=2)
    add_mta(store, "b", second_server.port, max_connections=2)
    enqueue_n(store, 200)
    worker = run_worker(store)
    a, b = len(smtp_server.received), len(second_server.received)
    assert a + b == 200 and statuses(store) == Counter({"sent": 200})
    assert 60 <= a <= 140, (a, b)
    assert smtp_server.max_seen_connections <= 2 and second_server.max_seen_connections <= 2
    ids = [m.id for m in mtas.list_mtas(store)]
    assert sum(sum(worker.recent_deliveries(i)) for i in ids if i is not None) == 200


def test_connections_are_reused_and_capped(store: Engine, smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.data_delay = 0.002
    add_mta(store, "relay", smtp_server.port, max_connections=3)
    enqueue_n(store, 120)
    run_worker(store)
    assert len(smtp_server.received) == 120
    assert smtp_server.max_seen_connections <= 3
    assert smtp_server.connections_total <= 6  # message after message on each connection


def test_451_defers_then_delivers(store: Engine, smtp_server: SmtpServer) -> None:
    add_mta(store, "relay", smtp_server.port)
    smtp_server.behaviour.rcpt_reply = "451 4.3.0 Greylisted, try again later"
    [mid] = queue.enqueue(store, "ops@example.com", "s", "b")
    events: list[DeliveryEvent] = []

    def on_event(e: DeliveryEvent) -> None:
        events.append(e)
        if e.outcome == "deferred":  # the server recovers; the retry falls due at once
            smtp_server.behaviour.rcpt_reply = None

    worker = Worker(store, fast_settings(), on_event=on_event)
    asyncio.run(asyncio.wait_for(worker.run(once=True), 30))
    assert [e.outcome for e in events] == ["deferred", "sent"]
    assert "Greylisted" in events[0].detail
    m = queue.get_message(store, mid)
    assert (m.status, m.attempts) == ("sent", 2)
    assert [(a.outcome, a.code) for a in queue.attempts_for(store, mid)] == [("deferred", 451), ("sent", 250)]


def test_451_backoff_leaves_it_deferred_until_due(store: Engine, smtp_server: SmtpServer) -> None:
    add_mta(store, "relay", smtp_server.port)
    smtp_server.behaviour.rcpt_reply = "451 4.3.0 try later"
    [mid] = queue.enqueue(store, "ops@example.com", "s", "b")
    before = utcnow()
    run_worker(store, fast_settings(backoff_base=60, backoff_max=3600))
    m = queue.get_message(store, mid)
    assert m.status == "deferred" and m.attempts == 1
    assert m.last_error is not None and "451" in m.last_error and "try later" in m.last_error
    assert before + timedelta(seconds=59) <= m.next_attempt_at <= utcnow() + timedelta(seconds=61)


def test_550_fails_at_once_with_the_server_text(store: Engine, smtp_server: SmtpServer) -> None:
    add_mta(store, "relay", smtp_server.port)
    smtp_server.behaviour.rcpt_reply = "550 5.1.1 <ops@example.com>: Recipient address rejected"
    [mid] = queue.enqueue(store, "ops@example.com", "s", "b")
    run_worker(store)
    m = queue.get_message(store, mid)
    assert (m.status, m.attempts) == ("failed", 1)
    assert m.last_error is not None and "Recipient address rejected" in m.last_error
    assert "550" in m.last_error
    relay = mtas.get(store, "relay")
    assert relay.consecutive_failures == 0 and relay.cooldown_until is None  # not the MTA's fault


def test_one_mta_down_everything_goes_through_the_other(store: Engine, smtp_server: SmtpServer) -> None:
    add_mta(store, "down", closed_port(), max_connections=3)
    add_mta(store, "up", smtp_server.port, max_connections=2)
    enqueue_n(store, 40)
    run_worker(store)
    assert len(smtp_server.received) == 40
    assert statuses(store) == Counter({"sent": 40})
    down = mtas.get(store, "down")
    assert down.consecutive_failures >= 1 and down.last_error
    assert down.cooldown_until is not None and down.cooldown_until > utcnow()


def test_mta_failing_mid_message_hands_it_to_the_next(
    store: Engine, smtp_server: SmtpServer, second_server: SmtpServer
) -> None:
    smtp_server.behaviour.drop_in_data = True
    add_mta(store, "flaky", smtp_server.port, max_connections=1)
    add_mta(store, "good", second_server.port, max_connections=1)
    enqueue_n(store, 10)
    run_worker(store)
    assert len(second_server.received) == 10
    assert statuses(store) == Counter({"sent": 10})
    with store.connect() as conn:
        outcomes = Counter(r[0] for r in conn.execute(select(A.c.outcome)))
    assert outcomes["sent"] == 10 and outcomes["mta_error"] >= 1
    assert mtas.get(store, "flaky").cooldown_until is not None


def test_421_greeting_on_the_only_mta_defers_nothing_fails(store: Engine) -> None:
    with RawServer(greet_421) as raw:
        add_mta(store, "busy", raw.port)
        [mid] = queue.enqueue(store, "ops@example.com", "s", "b")
        run_worker(store)
    m = queue.get_message(store, mid)
    assert m.status == "queued"  # never handed to a session: waits for the cooldown to end
    busy = mtas.get(store, "busy")
    assert busy.last_error and "421" in busy.last_error
    assert queue.stats(store).stalled_reason is not None


def test_a_password_that_cannot_be_decrypted_is_the_mtas_reported_failure(
    store: Engine, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker runs without the key the MTA's password was saved with (say a
    service without ERTUI_SECRET_KEY): the MTA is down and says why, where an
    operator looks, instead of mail waiting with no reason given."""
    from cryptography.fernet import Fernet

    add_mta(store, "auth relay", smtp_server.port, username="mailer", password="pw")
    [mid] = queue.enqueue(store, "ops@example.com", "s", "b")
    monkeypatch.setenv("ERTUI_SECRET_KEY", Fernet.generate_key().decode())
    run_worker(store)
    assert smtp_server.connections_total == 0
    assert queue.get_message(store, mid).status == "queued"
    relay = mtas.get(store, "auth relay")
    assert relay.last_error and "cannot be decrypted" in relay.last_error
    reason = queue.stats(store).stalled_reason
    assert reason is not None and "cannot be decrypted" in reason


def test_no_mta_enabled_nothing_attempted(store: Engine, smtp_server: SmtpServer) -> None:
    add_mta(store, "off", smtp_server.port, enabled=False)
    enqueue_n(store, 3)
    run_worker(store)
    assert smtp_server.connections_total == 0
    assert statuses(store) == Counter({"queued": 3})
    assert attempt_count(store) == 0
    with store.connect() as conn:
        assert conn.execute(select(func.max(T.c.attempts))).scalar_one() == 0
    reason = queue.stats(store).stalled_reason
    assert reason is not None and "no MTA is enabled" in reason


def test_lifetime_passed_fails_without_an_attempt(store: Engine, smtp_server: SmtpServer) -> None:
    add_mta(store, "relay", smtp_server.port)
    [mid] = queue.enqueue(store, "ops@example.com", "s", "b", lifetime=timedelta(0))
    run_worker(store)
    m = queue.get_message(store, mid)
    assert m.status == "failed" and m.last_error and "lifetime" in m.last_error
    assert m.attempts == 0 and smtp_server.connections_total == 0


def test_deferral_past_lifetime_fails(store: Engine, smtp_server: SmtpServer) -> None:
    add_mta(store, "relay", smtp_server.port)
    smtp_server.behaviour.rcpt_reply = "452 4.2.2 mailbox full"
    [mid] = queue.enqueue(store, "ops@example.com", "s", "b", lifetime=timedelta(seconds=30))
    run_worker(store, fast_settings(backoff_base=60, backoff_max=3600))
    m = queue.get_message(store, mid)
    assert m.status == "failed" and m.attempts == 1
    assert m.last_error and "lifetime" in m.last_error and "mailbox full" in m.last_error


def test_max_attempts_fails_with_that_reason(store: Engine, smtp_server: SmtpServer) -> None:
    add_mta(store, "relay", smtp_server.port)
    smtp_server.behaviour.rcpt_reply = "451 4.3.0 try later"
    [mid] = queue.enqueue(store, "ops@example.com", "s", "b")
    run_worker(store, fast_settings(max_attempts=3))
    m = queue.get_message(store, mid)
    assert (m.status, m.attempts) == ("failed", 3)
    assert m.last_error and "Gave up after 3 attempts" in m.last_error
    assert [a.outcome for a in queue.attempts_for(store, mid)] == ["deferred"] * 3


def test_held_is_left_alone_until_released(store: Engine, smtp_server: SmtpServer) -> None:
    add_mta(store, "relay", smtp_server.port)
    a, _b = queue.enqueue(store, ["a@example.com", "b@example.com"], "s", "b")
    queue.hold(store, [a])
    run_worker(store)
    assert [r.rcpt_tos for r in smtp_server.received] == [["b@example.com"]]
    assert queue.get_message(store, a).status == "held"
    queue.release(store, [a])
    run_worker(store)
    assert queue.get_message(store, a).status == "sent"


def test_retry_of_a_failed_message_delivers_it(store: Engine, smtp_server: SmtpServer) -> None:
    add_mta(store, "relay", smtp_server.port)
    smtp_server.behaviour.rcpt_reply = "550 5.7.1 no"
    [mid] = queue.enqueue(store, "ops@example.com", "s", "b")
    run_worker(store)
    assert queue.get_message(store, mid).status == "failed"
    smtp_server.behaviour.rcpt_reply = None
    assert queue.retry(store, [mid]) == 1
    run_worker(store)
    assert queue.get_message(store, mid).status == "sent"
    assert [a.outcome for a in queue.attempts_for(store, mid)] == ["failed", "sent"]


def test_running_worker_picks_up_new_mail_and_mta_edits(
    store: Engine, smtp_server: SmtpServer, second_server: SmtpServer
) -> None:
    add_mta(store, "relay", smtp_server.port)

    async def scenario() -> None:
        worker = Worker(store, fast_settings())
        task = asyncio.create_task(worker.run())

        async def until(pred: object, what: str) -> None:
            for _ in range(200):
                if pred():  # type: ignore[operator]
                    return
                await asyncio.sleep(0.05)
            raise AssertionError(f"timed out waiting for {what}")

        await asyncio.to_thread(queue.enqueue, store, "one@example.com", "s", "b")
        await until(lambda: len(smtp_server.received) == 1, "first delivery")
        await asyncio.to_thread(mtas.edit, store, "relay", port=second_server.port)
        await asyncio.sleep(0.3)  # a few polls: the edit is seen without a restart
        await asyncio.to_thread(queue.enqueue, store, "two@example.com", "s", "b")
        await until(lambda: len(second_server.received) == 1, "delivery after the edit")
        await asyncio.to_thread(mtas.set_enabled, store, "relay", False)
        await asyncio.sleep(0.3)
        [late] = await asyncio.to_thread(queue.enqueue, store, "three@example.com", "s", "b")
        await asyncio.sleep(0.5)
        assert (await asyncio.to_thread(queue.get_message, store, late)).status == "queued"
        worker.request_stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert len(smtp_server.received) == 1 and len(second_server.received) == 1
    assert statuses(store) == Counter({"sent": 2, "queued": 1})


def test_request_stop_leaves_nothing_sending(store: Engine, smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.data_delay = 0.01
    add_mta(store, "relay", smtp_server.port, max_connections=2)
    enqueue_n(store, 300)

    async def scenario() -> None:
        worker = Worker(store, fast_settings())
        task = asyncio.create_task(worker.run())
        for _ in range(200):
            if len(smtp_server.received) >= 20:
                break
            await asyncio.sleep(0.02)
        worker.request_stop()
        await asyncio.wait_for(task, 15)

    asyncio.run(scenario())
    counts = statuses(store)
    assert counts["sending"] == 0
    assert counts["sent"] == len(smtp_server.received)  # every acceptance recorded, no more
    assert counts["sent"] + counts["queued"] == 300 and counts["queued"] > 0


def test_pause_gives_claims_back_and_resume_delivers(store: Engine, smtp_server: SmtpServer) -> None:
    add_mta(store, "relay", smtp_server.port)

    async def scenario() -> None:
        worker = Worker(store, fast_settings())
        task = asyncio.create_task(worker.run())
        worker.pause()
        assert worker.paused
        await asyncio.to_thread(enqueue_n, store, 5)
        await asyncio.sleep(0.5)  # several polls while paused
        assert smtp_server.received == []
        assert await asyncio.to_thread(statuses, store) == Counter({"queued": 5})
        worker.resume()
        for _ in range(200):
            if len(smtp_server.received) == 5:
                break
            await asyncio.sleep(0.05)
        worker.request_stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert statuses(store) == Counter({"sent": 5})


def test_open_connections_reports_per_mta(store: Engine, smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.data_delay = 0.05
    relay = add_mta(store, "relay", smtp_server.port, max_connections=2)
    enqueue_n(store, 20)
    seen: list[dict[int, int]] = []

    async def scenario() -> None:
        worker = Worker(store, fast_settings())
        task = asyncio.create_task(worker.run(once=True))
        for _ in range(40):
            seen.append(worker.open_connections())
            await asyncio.sleep(0.02)
        await asyncio.wait_for(task, 20)

    asyncio.run(scenario())
    assert {relay.id: 2} in seen
    assert all(n <= 2 for snap in seen for n in snap.values())


def test_hurry_gives_back_sends_in_flight(store: Engine, smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.data_delay = 3.0  # the server sits on the message
    add_mta(store, "relay", smtp_server.port, max_connections=1)
    [mid] = queue.enqueue(store, "ops@example.com", "s", "b")

    async def scenario() -> None:
        worker = Worker(store, fast_settings(stop_timeout=60))
        task = asyncio.create_task(worker.run())
        for _ in range(200):
            if smtp_server.open_connections and worker.open_connections():
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # DATA is under way
        worker.request_stop()
        worker.hurry()
        await asyncio.wait_for(task, 10)  # far less than stop_timeout

    asyncio.run(scenario())
    m = queue.get_message(store, mid)
    assert m.status == "queued" and m.lease_owner is None


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERTUI_WORKER_BACKOFF_BASE", "0.5")
    monkeypatch.setenv("ERTUI_WORKER_MAX_ATTEMPTS", "7")
    monkeypatch.setenv("ERTUI_WORKER_DB_THREAD", "yes")
    s = WorkerSettings.from_env(lease_seconds=12.0, batch_size=None)
    assert (s.backoff_base, s.max_attempts, s.db_thread, s.lease_seconds) == (0.5, 7, True, 12.0)
    assert s.batch_size == WorkerSettings().batch_size
    assert [policy.backoff(s, n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    monkeypatch.setenv("ERTUI_WORKER_MAX_ATTEMPTS", "many")
    with pytest.raises(ValidationError):
        WorkerSettings.from_env()


def test_delivers_through_an_authenticated_starttls_mta(
    store: Engine, server_ssl_ctx: object, trust_ca: object
) -> None:
    import ssl

    assert isinstance(server_ssl_ctx, ssl.SSLContext)
    with SmtpServer("starttls", server_ctx=server_ssl_ctx, auth={"relay-user": "s3cret"}) as srv:
        mtas.add(
            store,
            description="secure",
            host="localhost",
            port=srv.port,
            security=Security.STARTTLS,
            username="relay-user",
            password="s3cret",
        )
        enqueue_n(store, 3)
        run_worker(store)
        assert len(srv.received) == 3 and srv.auth_attempts[:1] == ["relay-user"]
    assert statuses(store) == Counter({"sent": 3})


def test_lowering_max_connections_takes_effect_while_running(store: Engine, smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.data_delay = 0.01
    add_mta(store, "relay", smtp_server.port, max_connections=4)
    enqueue_n(store, 200)

    async def scenario() -> None:
        worker = Worker(store, fast_settings())
        task = asyncio.create_task(worker.run(once=True))
        for _ in range(300):
            if smtp_server.open_connections >= 3:
                break
            await asyncio.sleep(0.01)
        await asyncio.to_thread(mtas.edit, store, "relay", max_connections=1)
        for _ in range(300):  # the worker sees the edit within a poll or two
            await asyncio.sleep(0.02)
            if sum(worker.open_connections().values()) <= 1 and smtp_server.open_connections <= 1:
                break
        smtp_server.max_seen_connections = smtp_server.open_connections
        await asyncio.wait_for(task, 60)

    asyncio.run(scenario())
    assert statuses(store) == Counter({"sent": 200})
    assert smtp_server.max_seen_connections <= 1  # after the edit, one connection at most
