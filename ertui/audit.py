"""The audit log: every change to the settings, with when, who and from where.

``record`` is the one writer, called once by each service function that changes
a setting (``mtas``, ``settings``, the queue's bulk actions, retention). Who
acted comes from ``ertui.actor``: the front end, set once per process with
``actor.set_front_end`` ("cli" in the command line's entry, "console" when the
console starts): the
OS user and, over SSH, ``SSH_CLIENT``'s address. Rows are never updated or
deleted by a command; retention removes them after a year.
A detail names what changed, never a secret value ("password changed").
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from ertui.actor import Actor, current_actor
from ertui.store.engine import session, store_call
from ertui.store.models import AuditEntry
from ertui.timeutil import iso, utcnow

KEEP = timedelta(days=365)
DETAIL_LIMIT = 2000


@store_call
def record(engine: Engine, action: str, detail: str, *, actor: Actor | None = None) -> None:
    """Append one entry: ``action`` a stable key ("mta.edit"), ``detail`` the sentence."""
    who = actor or current_actor()
    entry = AuditEntry(
        at=utcnow(),
        action=action[:64],
        detail=detail[:DETAIL_LIMIT],
        os_user=who.os_user,
        ssh_client=who.ssh_client,
        front_end=who.front_end[:16],
    )
    with session(engine) as s:
        s.add(entry)
        s.commit()


@store_call
def entries(engine: Engine, since: timedelta | None = None, limit: int | None = None) -> list[AuditEntry]:
    """The entries, newest first; ``since``: only the last span of time."""
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())  # type: ignore[attr-defined,union-attr]
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= utcnow() - since)  # type: ignore[arg-type]
    if limit is not None:
        stmt = stmt.limit(limit)
    with session(engine) as s:
        return list(s.scalars(stmt))


@store_call
def expire(engine: Engine, now: datetime | None = None, batch: int = 1000) -> int:
    """Retention: remove entries older than a year (the one deleter), in batches."""
    cutoff = (now or utcnow()) - KEEP
    T = AuditEntry.__table__  # type: ignore[attr-defined]
    total = 0
    while True:
        with engine.begin() as conn:
            ids = select(T.c.id).where(T.c.at < cutoff).limit(batch).scalar_subquery()
            n = int(conn.execute(delete(T).where(T.c.id.in_(ids))).rowcount)
        total += n
        if n < batch:
            return total


def to_dict(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": iso(e.at),
        "action": e.action,
        "detail": e.detail,
        "user": e.os_user,
        "ssh_client": e.ssh_client,
        "front_end": e.front_end,
    }


def describe_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``field: old → new`` for each field whose value differs. A secret (a
    field ending in ``_enc``) says only "password changed" or "password
    removed", never a value; derived keys (``_key``) are left out."""
    out: list[str] = []
    for key, value in new.items():
        if key.endswith("_key") or key not in old:
            continue
        if key.endswith("_enc"):
            name = key.removesuffix("_enc")
            if value:
                out.append(f"{name} changed")
            elif old[key]:
                out.append(f"{name} removed")
        elif old[key] != value:
            out.append(f"{key}: {old[key]!r} → {value!r}")
    return out


def record_mta_edit(engine: Engine, description: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    """An MTA edit: "mta.enable"/"mta.disable" when that is all that changed,
    else "mta.edit" with the fields; nothing when nothing changed."""
    changes = describe_changes(old, new)
    if not changes:
        return
    if changes == [f"enabled: {old.get('enabled')!r} → {new.get('enabled')!r}"]:
        action = "mta.enable" if new["enabled"] else "mta.disable"
        record(engine, action, f"MTA {description!r} {action.split('.')[1]}d")
    else:
        record(engine, "mta.edit", f"MTA {description!r}: " + "; ".join(changes))


def record_bulk(engine: Engine, action: str, count: int, ids: list[int] | None = None) -> int:
    """A queue action on ``count`` messages (the ids when a few); returns ``count``."""
    if count:
        few = f" (ids {', '.join(map(str, ids[:10]))}{', …' if len(ids) > 10 else ''})" if ids else ""
        record(engine, action, f"{count} message(s){few}")
    return count
