"""The MTA service: list, get, add, edit, remove, enable/disable, health, and the Test.

The port rule and the defaults of a new MTA are in ``ertui.mta_rules``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col, select

from ertui import audit, settings, validate
from ertui.errors import NotFoundError, ValidationError
from ertui.mta_config import (
    CLEARTEXT_AUTH,
    PASSWORD_REQUIRED,
    bounded,
    cleartext_auth_warning,
    config_for,
    draft_config,
    login,
    to_dict,
)
from ertui.mta_rules import DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT, AuthMechanism, Security, port_for_mode
from ertui.smtp.outcome import MtaConfig, ProbeResult, Step
from ertui.store.engine import delete_row, session, store_call, update_row
from ertui.store.models import MAX_ID, Mta
from ertui.store.vault import Vault
from ertui.timeutil import utcnow

__all__ = [
    "CLEARTEXT_AUTH",
    "PASSWORD_REQUIRED",
    "bounded",
    "cleartext_auth_warning",
    "config_for",
    "draft_config",
    "to_dict",
]


@store_call
def list_mtas(engine: Engine) -> list[Mta]:
    with session(engine) as s:
        return list(s.exec(select(Mta).order_by(col(Mta.id))).all())


@store_call
def get(engine: Engine, ref: str | int) -> Mta:
    """An MTA by numeric id or by description (case does not matter)."""
    with session(engine) as s:
        mta: Mta | None = None
        text = str(ref).strip()
        number = validate.digits(text)
        if number is not None and number <= MAX_ID:
            mta = s.get(Mta, number)
        if mta is None and validate.control_character(text) is None:  # no description holds one
            mta = s.exec(select(Mta).where(Mta.description_key == text.lower())).first()
        if mta is None:
            raise NotFoundError(f"There is no MTA with the id or description {text!r}.")
        return mta


def _check_unique(engine: Engine, desc: str, exclude_id: int | None) -> None:
    with session(engine) as s:
        q = select(Mta.id).where(Mta.description_key == desc.lower())
        if exclude_id is not None:
            q = q.where(Mta.id != exclude_id)
        if s.exec(q).first() is not None:
            raise ValidationError(validate.DESCRIPTION, f"Description {desc!r} is already used by another MTA.")


@store_call
def add(
    engine: Engine,
    *,
    description: str,
    host: str,
    port: int | str | None = None,
    security: Security = Security.NONE,
    username: str | None = None,
    password: str | None = None,
    max_connections: int | str = DEFAULT_MAX_CONNECTIONS,
    enabled: bool = True,
    verify_tls: bool = True,
    timeout: float | str = DEFAULT_TIMEOUT,
    rate_limit: int | str = 0,
    ehlo_name: str | None = None,
    auth_mechanism: AuthMechanism | str = AuthMechanism.AUTO,
    pipelining: bool = True,
    oauth_token_url: str | None = None,
    oauth_client_id: str | None = None,
    oauth_scope: str | None = None,
    oauth_secret: str | None = None,
    vault: Vault | None = None,
) -> Mta:
    """Validate everything, then write once; on bad input nothing is written."""
    desc = validate.description(description)
    cfg = draft_config(
        host=host,
        port=port,
        security=security,
        username=username,
        password=password,
        verify_tls=verify_tls,
        timeout=timeout,
        ehlo_name=ehlo_name,
        auth_mechanism=auth_mechanism,
        pipelining=pipelining,
        oauth_token_url=oauth_token_url,
        oauth_client_id=oauth_client_id,
        oauth_scope=oauth_scope,
        oauth_secret=oauth_secret,
    )
    limit = validate.max_connections(max_connections)
    rate = validate.rate_limit(rate_limit)
    _check_unique(engine, desc, None)
    box = vault or (Vault.for_store(engine) if cfg.password or cfg.oauth_secret else None)
    enc = box.encrypt(cfg.password) if box and cfg.password else None
    oauth_enc = box.encrypt(cfg.oauth_secret) if box and cfg.oauth_secret else None
    mta = Mta(
        description=desc,
        description_key=desc.lower(),
        host=cfg.host,
        port=cfg.port,
        security=security.value,
        use_auth=cfg.use_auth,
        username=cfg.username,
        password_enc=enc,
        max_connections=limit,
        enabled=enabled,
        verify_tls=verify_tls,
        timeout=cfg.timeout,
        rate_limit_per_minute=rate,
        ehlo_name=cfg.ehlo_name,
        auth_mechanism=cfg.auth_mechanism.value,
        pipelining=cfg.pipelining,
        oauth_token_url=cfg.oauth_token_url,
        oauth_client_id=cfg.oauth_client_id,
        oauth_scope=cfg.oauth_scope,
        oauth_secret_enc=oauth_enc,
    )
    with session(engine) as s:
        s.add(mta)
        s.commit()
        s.refresh(mta)
    auth = f"auth as {mta.username!r}" if mta.use_auth else "no auth"  # (never the password)
    audit.record(engine, "mta.add", f"MTA {desc!r} added: {mta.host}:{mta.port}, security {mta.security}, {auth}")
    return mta


_UNSET: Any = object()


@store_call
def edit(
    engine: Engine,
    ref: str | int,
    *,
    description: str | None = None,
    host: str | None = None,
    port: int | str | None = None,
    security: Security | None = None,
    use_auth: bool | None = None,
    username: str | None = None,
    password: str | None = None,
    max_connections: int | str | None = None,
    enabled: bool | None = None,
    verify_tls: bool | None = None,
    timeout: float | str | None = None,
    rate_limit: int | str | None = None,
    ehlo_name: str | None = None,
    auth_mechanism: AuthMechanism | str | None = None,
    pipelining: bool | None = None,
    oauth_token_url: str | None = None,
    oauth_client_id: str | None = None,
    oauth_scope: str | None = None,
    oauth_secret: str | None = None,
    vault: Vault | None = None,
) -> Mta:
    """Change what is given; a password (client secret) left out keeps the
    stored one; an empty EHLO name is the default again."""
    mta = get(engine, ref)
    changes: dict[str, Any] = {}
    if description is not None:
        desc = validate.description(description)
        _check_unique(engine, desc, mta.id)
        changes["description"] = desc
        changes["description_key"] = desc.lower()
    if host is not None:
        changes["host"] = validate.host(host)
    new_security = security if security is not None else Security(mta.security)
    if port not in (None, ""):
        changes["port"] = validate.port(port)
    elif security is not None and new_security.value != mta.security:
        changes["port"] = port_for_mode(mta.port, new_security)
    if security is not None:
        changes["security"] = new_security.value
    if max_connections is not None:
        changes["max_connections"] = validate.max_connections(max_connections)
    if enabled is not None:
        changes["enabled"] = enabled
    if verify_tls is not None:
        changes["verify_tls"] = verify_tls
    if timeout is not None:
        changes["timeout"] = validate.mta_timeout(timeout)
    if rate_limit is not None:
        changes["rate_limit_per_minute"] = validate.rate_limit(rate_limit)
    if ehlo_name is not None:
        changes["ehlo_name"] = validate.ehlo_name(ehlo_name)
    if pipelining is not None:
        changes["pipelining"] = pipelining
    lg = login(
        mta,
        use_auth=use_auth,
        username=username,
        password=password,
        auth_mechanism=auth_mechanism,
        oauth_token_url=oauth_token_url,
        oauth_client_id=oauth_client_id,
        oauth_scope=oauth_scope,
        oauth_secret=oauth_secret,
    )
    if auth_mechanism is not None:
        changes["auth_mechanism"] = lg.mechanism.value
    if not lg.use_auth:
        changes.update(use_auth=False, username=None, password_enc=None, oauth_secret_enc=None)
    elif lg.mechanism == AuthMechanism.XOAUTH2:
        oauth = dict(lg.oauth)
        secret = oauth.pop("oauth_secret")
        if secret is not None:
            oauth["oauth_secret_enc"] = (vault or Vault.for_store(engine)).encrypt(secret)
        changes.update(oauth, use_auth=True, username=lg.username, password_enc=None)
    else:
        if lg.password is not None:
            changes["password_enc"] = (vault or Vault.for_store(engine)).encrypt(lg.password)
        changes.update(
            use_auth=True,
            username=lg.username,
            oauth_token_url=None,
            oauth_client_id=None,
            oauth_scope=None,
            oauth_secret_enc=None,
        )
    row = update_row(engine, Mta, mta.id, **changes, updated_at=utcnow())
    if row is None:
        raise NotFoundError(f"The MTA {mta.description!r} was removed meanwhile.")
    audit.record_mta_edit(engine, mta.description, mta.model_dump(), changes)
    return row


@store_call
def remove(engine: Engine, ref: str | int) -> Mta:
    mta = get(engine, ref)
    delete_row(engine, Mta, mta.id)
    audit.record(engine, "mta.remove", f"MTA {mta.description!r} removed")
    return mta


@store_call
def set_enabled(engine: Engine, ref: str | int, enabled: bool) -> Mta:
    return edit(engine, ref, enabled=enabled)


# The health of an MTA is written here only: after a Test (record_success,
# record_failure), after a failure of the MTA in the worker (record_failure),
# and for a worker's batch of results (write_contacts). Every one of them sets
# the last contact and its result, so an MTA that answered — even with a 5xx
# for a message — never reads as "never used".
CONTACT_LIMIT = 500  # characters of the last contact's result kept


@dataclass
class Contact:
    """What a worker's batch of results says of one MTA."""

    at: datetime
    result: str
    sent: int = 0  # messages it accepted in the batch
    last_success_at: datetime | None = None

    def add(self, at: datetime, result: str, sent: bool) -> None:
        self.at, self.result = at, result
        if sent:
            self.sent += 1
            self.last_success_at = at

    def merge(self, newer: Contact) -> None:
        """Fold a later batch into this one (a write that failed is retried with the next)."""
        self.at, self.result = newer.at, newer.result
        self.sent += newer.sent
        self.last_success_at = newer.last_success_at or self.last_success_at


@store_call
def record_success(engine: Engine, mta_id: int, when: datetime | None = None, result: str = "accepted") -> None:
    """Health after a delivery or test that the server accepted."""
    now = when or utcnow()
    update_row(
        engine,
        Mta,
        mta_id,
        last_success_at=now,
        consecutive_failures=0,
        cooldown_until=None,
        last_contact_at=now,
        last_contact_result=result[:CONTACT_LIMIT],
    )


def write_contacts(conn: Connection, contacts: dict[int, Contact]) -> None:
    """A worker's batch: sent counts, last success (which ends a cooldown and the
    failures in a row), and the last contact, in the caller's transaction.

    Rows are updated in id order: two workers writing their batches at once
    then lock the MTA rows in the same order (on PostgreSQL, in any other order
    they deadlock, and a batch is written again)."""
    table = Mta.__table__  # type: ignore[attr-defined]
    for mta_id, c in sorted(contacts.items()):
        values: dict[str, Any] = {"last_contact_at": c.at, "last_contact_result": c.result[:CONTACT_LIMIT]}
        if c.sent:
            values.update(
                sent_count=table.c.sent_count + c.sent,
                last_success_at=c.last_success_at,
                consecutive_failures=0,
                cooldown_until=None,
            )
        conn.execute(update(table).where(table.c.id == mta_id).values(**values))


@store_call
def record_failure(
    engine: Engine,
    mta_id: int,
    error: str,
    when: datetime | None = None,
    *,
    cooldown: Callable[[int], float] | None = None,
) -> datetime | None:
    """Health after a failure of the MTA itself (or of a Test through it): the
    error, its time, one more failure in a row. With ``cooldown`` (the seconds
    of cooldown after the n-th failure in a row, ``ertui.delivery.policy.mta_cooldown``)
    the MTA also cools down; returns the end of that cooldown (None without one,
    or when the MTA no longer exists). The one writer of an MTA's failures."""
    now = when or utcnow()
    table = Mta.__table__  # type: ignore[attr-defined]
    row = table.c
    with engine.begin() as conn:
        failures = conn.execute(
            update(table)
            .where(row.id == mta_id)
            .values(
                consecutive_failures=row.consecutive_failures + 1,
                last_error=error,
                last_error_at=now,
                last_contact_at=now,
                last_contact_result=error[:CONTACT_LIMIT],
            )
            .returning(row.consecutive_failures)
        ).scalar()
        if failures is None or cooldown is None:
            return None
        until = now + timedelta(seconds=cooldown(int(failures)))
        conn.execute(update(table).where(row.id == mta_id).values(cooldown_until=until))
    return until


async def run_test(
    engine: Engine, config: MtaConfig, to: str, on_step: Callable[[Step], None] | None = None
) -> ProbeResult:
    """The Test: validate the address, send from the administrator through this
    MTA only (``ertui.smtp.probe``), and record the MTA's health when it is saved.
    ``config`` is a saved MTA's (``config_for``) or a draft (``draft_config``).

    Raises ValidationError (field "To") for a bad address and
    settings.NoAdminAddressError — both before connecting.
    """
    from ertui.smtp.probe import send_test  # the transport loads only when a Test runs

    address = validate.email(to, validate.TO)
    who = settings.sender(engine)
    helo = settings.helo_name(engine)
    result = await send_test(config, who.address, address, helo, on_step, from_name=who.name, reply_to=who.reply_to)
    warning = cleartext_auth_warning(config.security, config.use_auth, config.username)
    if warning:
        result.warnings.append(warning)
        result.transcript.append(f"* warning: {warning}")
    if config.id is not None:
        if result.outcome.ok:
            record_success(engine, config.id)
        else:
            record_failure(engine, config.id, result.outcome.summary)
    return result


async def run_probe(engine: Engine, config: MtaConfig, on_step: Callable[[Step], None] | None = None) -> ProbeResult:
    """The probe: connect, TLS, EHLO and AUTH through this MTA, then QUIT —
    no mail sent. Records the MTA's health when it is saved."""
    from ertui.smtp.probe import check_connection  # the transport loads only when a probe runs

    result = await check_connection(config, settings.helo_name(engine), on_step)
    if config.id is not None:
        if result.outcome.ok:
            record_success(engine, config.id, result=result.outcome.summary)
        else:
            record_failure(engine, config.id, result.outcome.summary)
    return result
