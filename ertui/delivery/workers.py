"""The worker table: who delivers from this store, and what a worker that died
leaves behind.

Every worker registers its host, pid and the start time of its process
(``process_start``: the boot id, the pid namespace and the start tick, from
``/proc`` on Linux). A worker on the same host (the same name, boot and pid
namespace: never another machine that happens to share its name, nor a
container) whose process is gone — the pid is dead, or alive
but started at another time (a reused pid) — is dead for sure: its messages
and connection slots are given back at once (``reap``), without waiting for
their leases. Workers on other hosts are judged by their leases alone. A
worker that is alive on this host but silent (stopped with SIGSTOP) keeps its
connection slots even past their lease (``live_here``): its sockets are still
open, and taking its slots would let the MTA see more connections than its
limit when it is continued — nor its messages, one of which may be in the
middle of its DATA. That holds for ``STOPPED_GRACE`` seconds of silence: by
then any server has closed its idle connections (RFC 5321 4.5.3.2.7 asks
servers to wait 5 minutes), and the leases decide again.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine

from ertui.delivery import claims
from ertui.store.models import Message, MtaSlot, WorkerRecord
from ertui.timeutil import as_utc, utcnow

T = Message.__table__  # type: ignore[attr-defined]
S = MtaSlot.__table__  # type: ignore[attr-defined]
W = WorkerRecord.__table__  # type: ignore[attr-defined]


def machine() -> str | None:
    """This machine's boot and this process's pid namespace: pids mean the same
    only between processes that share both (not across hosts with one name,
    containers, or a reboot). None where ``/proc`` is missing."""
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as f:
            boot = f.read().strip().decode("ascii", "replace")
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    return f"{boot}/{namespace}"


def _stat(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/PID/stat`` after the command name (which may hold
    spaces or ")"): state first."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields if len(fields) >= 20 else None


def process_start(pid: int) -> str | None:
    """The process's start, ``"<machine>:<start ticks>"``; None when it is gone
    or where ``/proc`` is missing."""
    where, fields = machine(), _stat(pid)
    if where is None or fields is None:
        return None
    return f"{where}:{fields[19].decode('ascii', 'replace')}"


def here(started: str | None) -> bool:
    """Whether a worker that recorded ``started`` runs on this machine, in this
    pid namespace: only then can its pid be checked."""
    where = machine()
    return started is not None and where is not None and started.startswith(where + ":")


def is_alive(pid: int, started: str | None) -> bool:
    """Whether the process ``pid`` that started at ``started`` still runs (a
    zombie counts as gone; a pid reused by another process too)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    fields = _stat(pid)
    if fields is None:  # without /proc, os.kill has the last word; with it, the process just went
        return not os.path.isdir("/proc")
    if fields[0] in (b"Z", b"X"):
        return False
    return started is None or started == process_start(pid)


def register(engine: Engine, owner: str, hostname: str, pid: int) -> None:
    """Record this worker (and forget workers silent for a day: killed ones)."""
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(W.delete().where(or_(W.c.id == owner, W.c.heartbeat_at < now - timedelta(days=1))))
        conn.execute(
            W.insert().values(
                id=owner,
                hostname=hostname,
                pid=pid,
                started_at=now,
                heartbeat_at=now,
                paused=False,
                proc_start=process_start(pid),
            )
        )


def unregister(engine: Engine, owner: str) -> None:
    with engine.begin() as conn:
        conn.execute(W.delete().where(W.c.id == owner))


STOPPED_GRACE = 600.0


def _here(engine: Engine, hostname: str, me: str) -> list[tuple[str, int, str | None, datetime]]:
    """The other workers of this host (by name, boot and pid namespace)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(W.c.id, W.c.pid, W.c.proc_start, W.c.heartbeat_at).where(W.c.hostname == hostname, W.c.id != me)
        ).all()
    return [(str(r[0]), int(r[1]), r[2], as_utc(r[3])) for r in rows if here(r[2])]


def live_here(engine: Engine, hostname: str, me: str) -> frozenset[str]:
    """The other workers of this host whose process runs (stopped or not) and
    whose heart beat within ``STOPPED_GRACE``: their expired leases are not taken."""
    since = utcnow() - timedelta(seconds=STOPPED_GRACE)
    return frozenset(
        wid for wid, pid, started, beat in _here(engine, hostname, me) if beat > since and is_alive(pid, started)
    )


def reap(engine: Engine, hostname: str, me: str) -> tuple[int, int]:
    """Give back at once the messages and slots of workers of this host whose
    process is gone, and forget them; (messages, slots) given back."""
    dead = [wid for wid, pid, started, _ in _here(engine, hostname, me) if not is_alive(pid, started)]
    if not dead:
        return 0, 0
    with engine.begin() as conn:
        msgs = conn.execute(claims.give_back(T.c.lease_owner.in_(dead))).rowcount
        freed = conn.execute(
            update(S).where(S.c.owner.in_(dead)).values(owner=None, lease_until=None, gen=S.c.gen + 1)
        ).rowcount
        conn.execute(W.delete().where(W.c.id.in_(dead)))
    return int(msgs), int(freed)
