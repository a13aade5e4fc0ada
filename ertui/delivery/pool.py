"""What the worker knows of the MTAs: their settings, health and its connections.

``MtaPool.update`` takes the MTA rows (read every poll interval): a changed
configuration builds a new session config (password decrypted), and marks the
open connections stale, as do disabling, removal and a lowered connection
limit — a stale connection closes once its message is done.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ertui import mtas
from ertui.delivery.policy import UNWELL_WINDOW
from ertui.smtp.outcome import MtaConfig
from ertui.store.models import Mta
from ertui.timeutil import as_utc

log = logging.getLogger("ertui.worker")


@dataclass
class MtaState:
    row: Mta
    config: MtaConfig | None  # None when it cannot be built (e.g. vault error)
    config_error: str | None
    key: tuple[Any, ...]
    cooldown_until: datetime | None
    conns: set[Conn] = field(default_factory=set)
    slots_full_until: float = 0.0
    # Rate limit (ertui.delivery.ratelimit): no token expected before (time.monotonic).
    rate_wait_until: float = 0.0
    # Its last replies to messages: (recipient, refused temporarily) — see
    # policy.mta_unwell — and the results of the messages it deferred since it
    # last accepted one (made due at once if it turns out unwell).
    replies: deque[tuple[str, bool]] = field(default_factory=lambda: deque(maxlen=UNWELL_WINDOW))
    deferred: deque[tuple[int, dict[str, Any]]] = field(default_factory=lambda: deque(maxlen=UNWELL_WINDOW))

    def __post_init__(self) -> None:
        assert self.row.id is not None
        self.id: int = self.row.id
        self.name: str = self.row.description  # plain attributes: read per message

    def usable(self, now: datetime) -> bool:
        return (
            self.row.enabled and self.config is not None and (self.cooldown_until is None or self.cooldown_until <= now)
        )


@dataclass(eq=False)
class Conn:
    mta: MtaState
    key: tuple[Any, ...]
    slot_no: int | None = None
    gen: int = 0  # the slot lease's fencing token
    valid_until: float = 0.0  # until when (time.monotonic) the slot lease surely holds
    busy: bool = False
    stale: bool = False  # config changed, slot lost or limit lowered: close when free
    task: asyncio.Task[None] | None = None


def config_key(m: Mta) -> tuple[Any, ...]:
    return (
        m.host,
        m.port,
        m.security,
        m.use_auth,
        m.username,
        m.password_enc,
        m.verify_tls,
        m.timeout,
        m.ehlo_name,
        m.auth_mechanism,
        m.pipelining,
        m.oauth_secret_enc,
        m.updated_at,
    )


class MtaPool:
    def __init__(self) -> None:
        self.states: dict[int, MtaState] = {}
        self._vault: Any = None
        self._said: dict[int, list[str]] = {}  # fields out of range, said once per MTA

    def usable(self, now: datetime) -> list[MtaState]:
        return [st for st in self.states.values() if st.usable(now)]

    def busy(self) -> bool:
        return any(c.busy for st in self.states.values() for c in st.conns)

    def open_connections(self) -> dict[int, int]:
        return {mid: len(st.conns) for mid, st in self.states.items() if st.conns}

    def update(self, rows: list[Mta]) -> bool:
        """Take the current rows; True when a connection was made stale."""
        seen: set[int] = set()
        changed = False
        for row in rows:
            assert row.id is not None
            seen.add(row.id)
            replaced = mtas.bounded(row)
            if replaced and self._said.get(row.id) != replaced:
                log.warning(
                    "MTA %r: %s out of range in the store; the default is used (correct it with `ertui mta edit`)",
                    row.description,
                    ", ".join(replaced),
                )
            self._said[row.id] = replaced
            key = config_key(row)
            st = self.states.get(row.id)
            cooldown = as_utc(row.cooldown_until) if row.cooldown_until else None
            if st is None or st.key != key:
                config, error = self._build_config(row)
                conns = st.conns if st else set()
                old = st
                st = MtaState(row, config, error, key, cooldown, conns)
                if old is not None:
                    st.replies, st.deferred = old.replies, old.deferred
                self.states[row.id] = st
            else:
                st.row = row
                st.name = row.description
                st.cooldown_until = cooldown
            for c in st.conns:
                if not c.stale and (
                    c.key != key or not row.enabled or (c.slot_no is not None and c.slot_no >= row.max_connections)
                ):
                    c.stale = True
                    changed = True
        for mid in list(self.states):
            if mid not in seen:
                for c in self.states[mid].conns:
                    c.stale = True
                    changed = True
                self.states[mid].row.enabled = False
                if not self.states[mid].conns:
                    del self.states[mid]
        return changed

    def unbuildable(self, now: datetime) -> list[MtaState]:
        """Enabled MTAs whose session config cannot be built (say the password
        cannot be decrypted with this process's key) and that are not cooling
        down for it already: built again (a key file may have been fixed), and
        those still failing returned, for the worker to report."""
        failing = []
        for st in self.states.values():
            if st.config is None and st.row.enabled and (st.cooldown_until is None or st.cooldown_until <= now):
                st.config, st.config_error = self._build_config(st.row)
                if st.config is None:
                    failing.append(st)
        return failing

    def _build_config(self, row: Mta) -> tuple[MtaConfig | None, str | None]:
        try:
            if row.use_auth and self._vault is None:
                from ertui.store.vault import Vault

                self._vault = Vault.load(create=False)  # decrypts only: never makes a key
            return mtas.config_for(row, self._vault), None
        except Exception as exc:  # e.g. the key file is gone or another key
            self._vault = None  # load it again next time
            return None, str(exc)
