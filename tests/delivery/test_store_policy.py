"""The delivery policy in the store (issue 13 item 4): `ertui policy show|set`,
the environment's overrides, the lifetime at enqueue, and running workers —
in the test's loop and as a real `ertui worker` process — picking up a
changed first retry delay without a restart."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from ertui import audit, delivery_policy, queue
from ertui.cli import cli
from ertui.delivery import policy as verdicts
from ertui.delivery.worker import Worker, WorkerSettings
from ertui.smtp.outcome import ErrorKind, Outcome
from ertui.store.models import MessageStatus
from ertui.timeutil import utcnow
from tests.delivery.conftest import add_mta, claimed, finish, start_worker, wait_for, worker_env
from tests.smtpd import SmtpServer

GREYLISTED = "451 4.7.1 greylisted, try later"


def run_cli(db_url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, ["--db", db_url, *args], env=env, catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def retry_delay(engine: Engine, mid: int) -> float:
    """The delay the worker chose for a deferred message (next attempt − last attempt)."""
    m = queue.get_message(engine, mid)
    assert m.status == MessageStatus.DEFERRED.value, (m.status, m.last_error)
    assert m.last_attempt_at is not None
    return (m.next_attempt_at - m.last_attempt_at).total_seconds()


# -- show and set ---------------------------------------------------------------------


def test_set_and_show_round_trip(store: Engine, db_url: str) -> None:
    code, out, _ = run_cli(db_url, "policy", "show", "--json")
    assert code == 0
    shown = json.loads(out)
    assert {k: shown[k] for k in list(shown)[:5]} == {
        "first_retry_seconds": 60.0,
        "max_retry_seconds": 3600.0,
        "lifetime_seconds": 432000.0,
        "max_attempts": 0,
        "mta_cooldown_seconds": 5.0,
    }
    assert {v["source"] for v in shown["settings"].values()} == {"default"}

    code, _, err = run_cli(
        db_url,
        "policy", "set",
        "--first-retry", "5m", "--max-retry", "2h", "--lifetime", "2d", "--max-attempts", "12", "--mta-cooldown", "30",
    )  # fmt: skip
    assert (code, err) == (0, "")
    code, out, _ = run_cli(db_url, "policy", "show", "--json")
    shown = json.loads(out)
    assert (shown["first_retry_seconds"], shown["max_retry_seconds"], shown["lifetime_seconds"]) == (300, 7200, 172800)
    assert (shown["max_attempts"], shown["mta_cooldown_seconds"]) == (12, 30)
    assert shown["settings"]["lifetime"]["source"] == "store"
    assert shown["settings"]["lifetime"]["affects_queued_mail"] is False
    assert shown["settings"]["first_retry"]["affects_queued_mail"] is True
    assert shown["retention"] == {"keep_sent_seconds": 30 * 86400.0, "keep_failed_seconds": 90 * 86400.0}
    assert delivery_policy.stored(store) == delivery_policy.Policy(300.0, 7200.0, 172800.0, 12, 30.0)

    code, out, _ = run_cli(db_url, "policy", "show")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["First", "retry", "delay", "5m", "set", "in", "the", "store"]
    assert "Maximum attempts      12" in out
    assert "the lifetime counts for new mail only" in out
    assert "Retention (ertui retention): sent mail is kept 30d, failed mail 90d." in out
    (entry,) = [e for e in audit.entries(store) if e.action == "policy.set"]
    assert entry.detail.startswith("first retry delay: 1m → 5m; maximum retry delay: 1h → 2h;")


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        ((), "Give at least one of --first-retry, --max-retry, --lifetime, --max-attempts, --mta-cooldown."),
        (("--first-retry", "soon"), "First retry delay must be an age such as 90s, 15m, 2h or 5d (from 1s to 1d)."),
        (("--first-retry", "0"), "First retry delay must be from 1s to 1d."),
        (("--lifetime", "400d"), "Message lifetime must be from 1m to 365d."),
        (("--max-attempts", "-1"), "Maximum attempts must be a whole number from 0 to 100000."),
        (("--max-attempts", "2.5"), "Maximum attempts must be a whole number from 0 to 100000."),
        (("--first-retry", "2h"), "First retry delay (2h) must not be longer than the maximum retry delay (1h)."),
        (("--max-retry", "30s"), "First retry delay (1m) must not be longer than the maximum retry delay (30s)."),
        (("--lifetime", "1d", "--mta-cooldown", "2d"), "MTA cooldown must be from 1s to 1d."),
    ],
)
def test_bad_input_is_one_sentence_exit_2_and_nothing_written(
    store: Engine, db_url: str, args: tuple[str, ...], sentence: str
) -> None:
    code, out, err = run_cli(db_url, "policy", "set", *args)
    assert (code, out, err) == (2, "", f"ertui: {sentence}\n")
    assert delivery_policy.stored_values(store) == {}
    assert not [e for e in audit.entries(store) if e.action == "policy.set"]


def test_an_environment_variable_overrides_and_show_says_so(store: Engine, db_url: str) -> None:
    delivery_policy.set_policy(store, {"mta_cooldown": 10.0})
    env = {"ERTUI_WORKER_COOLDOWN_BASE": "30", "ERTUI_MESSAGE_LIFETIME": "3600"}
    code, out, _ = run_cli(db_url, "policy", "show", env=env)
    assert code == 0
    cooldown = next(line for line in out.splitlines() if line.startswith("MTA cooldown"))
    assert cooldown.split()[2] == "30s"  # the value in use here
    assert cooldown.endswith("ERTUI_WORKER_COOLDOWN_BASE=30 overrides the store (10s) in this environment")
    assert "ERTUI_MESSAGE_LIFETIME=3600 overrides the store (5d) in this environment" in out
    code, out, _ = run_cli(db_url, "policy", "show", "--json", env=env)
    shown = json.loads(out)
    assert shown["mta_cooldown_seconds"] == 30.0
    detail = shown["settings"]["mta_cooldown"]
    assert (detail["source"], detail["stored"], detail["env_value"], detail["overridden_by_env"]) == (
        "environment",
        10.0,
        "30",
        True,
    )
    assert shown["settings"]["first_retry"]["overridden_by_env"] is False
    code, _, err = run_cli(db_url, "policy", "show", env={"ERTUI_WORKER_BACKOFF_BASE": "soon"})
    assert (code, err) == (
        2,
        "ertui: ERTUI_WORKER_BACKOFF_BASE must be a number of seconds from 0 to 86400 (0s to 1d).\n",
    )


# -- lifetime, attempts, cooldown -------------------------------------------------------


def test_the_lifetime_applies_at_enqueue_and_not_to_queued_mail(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    [before] = queue.enqueue(store, "a@example.com", "s", "b")
    delivery_policy.set_policy(store, {"lifetime": 2 * 86400.0})
    [after] = queue.enqueue(store, "a@example.com", "s", "b")

    def lifetime(mid: int) -> timedelta:
        m = queue.get_message(store, mid)
        return m.expires_at - m.created_at

    assert lifetime(before) == timedelta(days=5)
    assert lifetime(after) == timedelta(days=2)
    monkeypatch.setenv("ERTUI_MESSAGE_LIFETIME", "3600")
    [overridden] = queue.enqueue(store, "a@example.com", "s", "b")
    assert lifetime(overridden) == timedelta(hours=1)


def test_zero_attempts_means_until_the_lifetime_ends() -> None:
    assert WorkerSettings().max_attempts == 0  # the policy's default, no longer 30
    now = utcnow()
    msg = claimed(now, attempts=999)
    greylisted = Outcome(ok=False, kind=ErrorKind.RECIPIENT_REFUSED, permanent=False, code=451, message="later")
    s = WorkerSettings(backoff_base=60, backoff_max=3600)
    v = verdicts.after_refusal(msg, greylisted, s, now)
    assert (v.status, v.next_at) == (MessageStatus.DEFERRED, now + timedelta(hours=1))
    late = verdicts.after_refusal(claimed(now, attempts=999, lifetime=timedelta(minutes=30)), greylisted, s, now)
    assert late.status is MessageStatus.FAILED and late.error.startswith("Not delivered within its lifetime")
    s.max_attempts = 1000
    assert verdicts.after_refusal(msg, greylisted, s, now).error == "Gave up after 1000 attempts; last error: 451 later"


def test_an_mta_cooldown_longer_than_the_cap_is_not_cut() -> None:
    s = WorkerSettings(cooldown_base=1800, cooldown_max=600)
    assert [verdicts.mta_cooldown(s, n) for n in (1, 2)] == [1800, 1800]


def test_the_environment_pins_a_knob_against_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERTUI_WORKER_BACKOFF_BASE", "7")
    s = WorkerSettings.from_env()
    assert s.from_store and "backoff_base" in s.pinned
    changes = s.apply_policy(delivery_policy.Policy(first_retry=300, max_retry=7200, max_attempts=4))
    assert (s.backoff_base, s.backoff_max, s.max_attempts) == (7.0, 7200.0, 4)
    assert changes == ["maximum retry delay 1h → 2h", "maximum attempts 0 (until the lifetime ends) → 4"]
    assert not WorkerSettings().from_store  # made directly (the tests): the values given hold


# -- running workers pick a change up -----------------------------------------------------


def test_a_running_worker_picks_up_a_changed_first_retry_delay(store: Engine, smtp_server: SmtpServer) -> None:
    add_mta(store, "relay", smtp_server.port)
    smtp_server.behaviour.rcpt_reply = GREYLISTED
    delivery_policy.set_policy(store, {"first_retry": 3600.0})
    settings = WorkerSettings(
        from_store=True, policy_reload=0.2, poll_interval=0.05, idle_close_seconds=0.2, flush_interval=0.05
    )

    async def scenario() -> tuple[float, float]:
        worker = Worker(store, settings)
        task = asyncio.create_task(worker.run())
        try:
            [first] = queue.enqueue(store, "ops@example.com", "s", "b")
            await until(lambda: queue.get_message(store, first).status == "deferred")
            assert worker.settings.backoff_base == 3600.0
            delivery_policy.set_policy(store, {"first_retry": 20.0})
            await until(lambda: worker.settings.backoff_base == 20.0)  # no restart
            [second] = queue.enqueue(store, "ops2@example.com", "s", "b")
            await until(lambda: queue.get_message(store, second).status == "deferred")
            return retry_delay(store, first), retry_delay(store, second)
        finally:
            worker.request_stop()
            await asyncio.wait_for(task, 10)

    before, after = asyncio.run(scenario())
    assert 3600 <= before < 3660
    assert 20 <= after < 80


async def until(condition: object, seconds: float = 20) -> None:
    assert callable(condition)
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


def test_a_worker_process_picks_up_a_changed_first_retry_delay(
    store: Engine, db_url: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    add_mta(store, "relay", smtp_server.port)
    smtp_server.behaviour.rcpt_reply = GREYLISTED
    delivery_policy.set_policy(store, {"first_retry": 3600.0})
    env = worker_env(ERTUI_WORKER_POLICY_RELOAD="0.2")
    del env["ERTUI_WORKER_BACKOFF_BASE"]  # the store's policy, not a pinned one
    log = tmp_path / "worker.log"
    proc = start_worker(db_url, env=env, log=log)
    try:
        [first] = queue.enqueue(store, "ops@example.com", "s", "b")
        wait_for(lambda: queue.get_message(store, first).status == "deferred", "the first deferral")
        code, _, _ = run_cli(db_url, "policy", "set", "--first-retry", "20s")
        assert code == 0
        wait_for(lambda: "delivery policy: first retry delay 1h → 20s" in log.read_text(), "the worker's reload")
        [second] = queue.enqueue(store, "ops2@example.com", "s", "b")
        wait_for(lambda: queue.get_message(store, second).status == "deferred", "the second deferral")
    finally:
        proc.terminate()
        code, err = finish(proc)
    assert code == 0, err
    assert 3600 <= retry_delay(store, first) < 3660
    assert 20 <= retry_delay(store, second) < 80
