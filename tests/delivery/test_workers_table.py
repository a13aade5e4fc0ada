"""The worker table: a dead worker of this host is known at once — its pid gone,
or alive but another process (a reused pid) — and what it held is given back."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from ertui import mtas, queue
from ertui.delivery import claims, slots, workers
from ertui.store.models import WorkerRecord

W = WorkerRecord.__table__  # type: ignore[attr-defined]
HOST = socket.gethostname()[:255]
pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux /proc")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_process_is_alive_only_with_its_own_start_time() -> None:
    me = os.getpid()
    assert workers.is_alive(me, workers.process_start(me))
    assert workers.is_alive(me, None)  # no start time recorded: the pid alone
    assert not workers.is_alive(me, f"{workers.machine()}:12345")  # a reused pid
    assert not workers.is_alive(dead_pid(), None)


def test_a_worker_of_another_machine_or_namespace_is_left_to_its_leases(store: Engine) -> None:
    """The same host name, but another boot or pid namespace (a second machine
    with the same name, a container): its pid says nothing here."""
    workers.register(store, "twin", HOST, dead_pid())
    with store.begin() as conn:
        conn.execute(update(W).where(W.c.id == "twin").values(proc_start="another-boot/pid:[1]:77"))
    queue.enqueue(store, "a@example.com", "s", "b")
    assert len(claims.claim(store, "twin", 1, 60)) == 1
    assert workers.reap(store, HOST, "me") == (0, 0)


def test_reap_gives_back_what_dead_workers_of_this_host_held(store: Engine) -> None:
    relay = mtas.add(store, description="relay", host="127.0.0.1", port=2525, max_connections=3)
    assert relay.id is not None
    queue.enqueue_batch(store, [(f"u{i}@example.com", "s", "b") for i in range(6)])
    gone, reused, alive, elsewhere = "gone", "reused", "alive", "elsewhere"
    workers.register(store, gone, HOST, dead_pid())
    workers.register(store, reused, HOST, os.getpid())
    with store.begin() as conn:  # this machine; a dead pid, or this pid but started at another time
        conn.execute(update(W).where(W.c.id.in_([gone, reused])).values(proc_start=f"{workers.machine()}:1"))
    workers.register(store, alive, HOST, os.getpid())
    workers.register(store, elsewhere, "another-host", dead_pid())
    for owner in (gone, reused, alive, elsewhere):
        assert len(claims.claim(store, owner, 1, 60)) == 1
    for owner in (gone, reused, alive):
        assert slots.acquire(store, relay.id, 3, owner, 60) is not None
    assert workers.reap(store, HOST, "me") == (2, 2)
    owners = {m.lease_owner for m in queue.list_messages(store) if m.status == "sending"}
    assert owners == {alive, elsewhere}  # another host: its leases decide
    assert workers.live_here(store, HOST, "me") == {alive}
    assert slots.leased(store) == {relay.id: 1}
