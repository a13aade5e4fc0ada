"""`ertui doctor`: why is mail not going out? One checklist, in order.

Each check says what it found and, when it fails, the one thing to do about
it. The order follows what mail needs: a store at the current schema, a key
that opens the stored passwords, a sender, a host name for links, an enabled
MTA that answers (every enabled MTA is probed in parallel, up to AUTH, no mail
sent), a running worker; then what the queue looks like (its oldest unsent
message, failures in the last day). A check that cannot run because an
earlier one failed (no store) is not reached.

The CLI prints the checklist; the console shows it filling in live through
``on_check``. Both call :func:`run`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ertui import mtas, settings
from ertui.config import ENV_SECRET_KEY, key_file_path
from ertui.errors import ErtuiError
from ertui.service import snapshot
from ertui.smtp.outcome import ErrorKind, Outcome
from ertui.store.engine import current_revision, redact_url
from ertui.store.migrations import HEAD_REVISION
from ertui.store.models import Mta
from ertui.store.vault import Vault
from ertui.timeutil import span

M = Mta.__table__.c  # type: ignore[attr-defined]
OLDEST_UNSENT_LIMIT = timedelta(minutes=15)
HEARTBEAT_LIMIT = timedelta(minutes=1)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "checks": [c.to_dict() for c in self.checks]}


async def run(open_engine: Callable[[], Engine], on_check: Callable[[Check], None] | None = None) -> Report:
    """Run every check in order; ``on_check`` sees each as it completes."""
    checks: list[Check] = []

    def add(check: Check) -> None:
        checks.append(check)
        if on_check is not None:
            on_check(check)

    try:
        engine = await asyncio.to_thread(open_engine)
        revision = await asyncio.to_thread(current_revision, engine)
    except ErtuiError as exc:
        add(Check("store", False, str(exc), "Check --db / ERTUI_DB and the file's permissions."))
        return Report(checks)
    if revision != HEAD_REVISION:
        add(Check("store", False, f"the schema is at {revision}, not {HEAD_REVISION}", "Run any ertui command once."))
        return Report(checks)
    add(Check("store", True, f"{redact_url(str(engine.url))} at schema {revision}"))
    for step in (_secret_key, _sender, _host_name, _enabled_mtas):
        add(await asyncio.to_thread(step, engine))
    for check in await _probe_enabled(engine):
        add(check)
    for check in await asyncio.to_thread(_queue_checks, engine):
        add(check)
    return Report(checks)


def _secret_key(engine: Engine) -> Check:
    secret = func.coalesce(M.password_enc, M.oauth_secret_enc)  # a password, or an OAuth2 client secret
    with engine.connect() as conn:
        stored = [(str(d), str(p)) for d, p in conn.execute(select(M.description, secret).where(secret.is_not(None)))]
    source = ENV_SECRET_KEY if os.environ.get(ENV_SECRET_KEY) else str(key_file_path())
    if not os.environ.get(ENV_SECRET_KEY) and not key_file_path().exists():
        if not stored:
            return Check("secret key", True, "no stored password yet (a key is made when one is saved)")
        return Check(
            "secret key",
            False,
            f"no key at {source}, and {len(stored)} MTA password(s) are stored",
            f"Restore the key file from a backup (or set {ENV_SECRET_KEY}), or enter each MTA's password again.",
        )
    try:
        vault = Vault.load()
        bad = [d for d, token in stored if not _opens(vault, token)]
    except ErtuiError as exc:
        return Check("secret key", False, str(exc), f"Restore the key file or set {ENV_SECRET_KEY}.")
    if bad:
        return Check(
            "secret key",
            False,
            f"the key at {source} does not open the password of {', '.join(map(repr, bad))}",
            "Set the key the passwords were saved with, or enter them again: ertui mta edit MTA --password-stdin.",
        )
    return Check("secret key", True, f"{source} opens all {len(stored)} stored password(s)")


def _opens(vault: Vault, token: str) -> bool:
    try:
        vault.decrypt(token)
    except ErtuiError:
        return False
    return True


def _sender(engine: Engine) -> Check:
    address = settings.admin_email(engine)
    if not address:
        return Check("sender", False, "the administrator has no email address", "ertui admin set-email ADDRESS")
    return Check("sender", True, f"mail is sent from {address}")


def _host_name(engine: Engine) -> Check:
    host = settings.master_host(engine)
    if not host.valid:
        return Check(
            "host name",
            False,
            f"{host.name!r} is not a fully qualified domain name: recovery links would not work",
            "ertui host set FQDN",
        )
    return Check("host name", True, f"links point to https://{host.name}/")


def _enabled_mtas(engine: Engine) -> Check:
    rows = mtas.list_mtas(engine)
    enabled = [m for m in rows if m.enabled]
    if not enabled:
        fix = "ertui mta enable MTA" if rows else "ertui mta add --description TEXT --host HOST"
        return Check("enabled MTAs", False, f"none of {len(rows)} MTA(s) is enabled", fix)
    return Check("enabled MTAs", True, f"{len(enabled)} of {len(rows)} enabled")


async def _probe_enabled(engine: Engine) -> list[Check]:
    enabled = [m for m in await asyncio.to_thread(mtas.list_mtas, engine) if m.enabled]
    if not enabled:
        return []
    results = await asyncio.gather(*(_probe_one(engine, m) for m in enabled))
    checks = []
    for mta, outcome in zip(enabled, results, strict=True):
        name = f"probe {mta.description}"
        if outcome.ok:
            checks.append(
                Check(
                    name,
                    True,
                    f"{mta.host}:{mta.port} answered and accepted the login"
                    if mta.use_auth
                    else f"{mta.host}:{mta.port} answered",
                )
            )
        else:
            checks.append(Check(name, False, outcome.summary, outcome.hint or f"ertui mta test {mta.id} --to ADDRESS"))
    return checks


async def _probe_one(engine: Engine, mta: Mta) -> Outcome:
    try:
        config = mtas.config_for(mta)
    except ErtuiError as exc:  # its password cannot be decrypted
        return Outcome(ok=False, kind=ErrorKind.AUTH_FAILED, message=str(exc), hint="Enter the MTA's password again.")
    return (await mtas.run_probe(engine, config)).outcome


def _queue_checks(engine: Engine) -> list[Check]:
    """The worker's heartbeat, the oldest unsent message and the failures of
    the last 24 h, from the one snapshot the metrics and `ertui check` read."""
    snap = snapshot.take(engine)
    checks = []
    if snap.last_heartbeat is None or snap.last_heartbeat < snap.at - HEARTBEAT_LIMIT:
        checks.append(
            Check(
                "worker",
                False,
                "no worker has a heartbeat in the last minute (none is running)",
                "ertui worker (or open the console), or start the ertui-worker service",
            )
        )
    else:
        ago = span((snap.at - snap.last_heartbeat).total_seconds())
        checks.append(Check("worker", True, f"{snap.live_workers} worker(s) running, last heartbeat {ago} ago"))
    if not snap.oldest_unsent_seconds:
        checks.append(Check("oldest unsent", True, "nothing waiting"))
    else:
        detail = f"the oldest unsent message has waited {span(snap.oldest_unsent_seconds)}"
        if snap.oldest_unsent_seconds > OLDEST_UNSENT_LIMIT.total_seconds():
            fix = "ertui queue shape, then ertui log --failed: where and why it waits"
            checks.append(Check("oldest unsent", False, detail, fix))
        else:
            checks.append(Check("oldest unsent", True, detail))
    if snap.failed_24h:
        checks.append(
            Check(
                "failed in 24 h",
                False,
                f"{snap.failed_24h} message(s) failed in the last 24 h",
                "ertui queue list --status failed, then ertui queue retry --all-failed once fixed",
            )
        )
    else:
        checks.append(Check("failed in 24 h", True, "none"))
    return checks


__all__ = ["Check", "Report", "run"]
