"""Settings: the master server host name for email links, and the administrator
account whose address is the sender of every email."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from ertui import audit, validate
from ertui.errors import ErtuiError
from ertui.store.engine import session, store_call, update_row
from ertui.store.models import Setting, User

MASTER_HOST_KEY = "master_host_name"
ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class HostName:
    name: str
    is_default: bool
    problem: str | None  # the validation sentence when it is not a valid FQDN

    @property
    def valid(self) -> bool:
        return self.problem is None


def default_host_name() -> str:
    return socket.getfqdn()


@store_call
def get_setting(engine: Engine, key: str) -> str | None:
    with session(engine) as s:
        row = s.get(Setting, key)
        return None if row is None else row.value


@store_call
def put_setting(engine: Engine, key: str, value: str) -> None:
    with session(engine) as s:
        row = s.get(Setting, key)
        if row is None:
            row = Setting(key=key, value=value)
        else:
            row.value = value
        s.add(row)
        s.commit()


@store_call
def master_host(engine: Engine) -> HostName:
    """The configured name, or this host's FQDN (flagged when it is not one)."""
    stored = get_setting(engine, MASTER_HOST_KEY)
    name = stored if stored else default_host_name()
    return HostName(name=name, is_default=not stored, problem=validate.fqdn_problem(name))


def _ascii_domain(address: str | None) -> str | None:
    """The domain of an address, as ASCII (IDNA) for a header or an SMTP command."""
    if not address or "@" not in address:
        return None
    domain = address.rpartition("@")[2].strip().rstrip(".")
    try:
        return domain.encode("idna").decode("ascii").lower() or None
    except UnicodeError:
        return None


def _is_local(name: str) -> bool:
    """A name that says nothing outside this box: localhost, localhost.localdomain…"""
    first = name.lower().split(".", 1)[0]
    return first in ("localhost", "localhost6", "ip6-localhost") or validate.fqdn_problem(name) is not None


@store_call
def message_id_domain(engine: Engine, sender: str) -> str:
    """The right-hand side of a Message-ID: the master host name once one is
    set, until then the sender's domain (never ``localhost``)."""
    stored = get_setting(engine, MASTER_HOST_KEY)
    if stored:
        return stored
    return _ascii_domain(sender) or "invalid"


@store_call
def helo_name(engine: Engine) -> str:
    """The name given in EHLO: the master host name once one is set; else this
    host's FQDN when it is a real one (not ``localhost``); else the domain of
    the administrator's address."""
    stored = get_setting(engine, MASTER_HOST_KEY)
    if stored:
        return stored
    fqdn = default_host_name()
    if not _is_local(fqdn):
        return fqdn
    return _ascii_domain(admin_email(engine)) or "invalid"


@store_call
def set_master_host(engine: Engine, value: str) -> str:
    name = validate.fqdn(value)
    put_setting(engine, MASTER_HOST_KEY, name)
    audit.record(engine, "host.set", f"master host name set to {name!r}")
    return name


class NoAdminAddressError(ErtuiError):
    """Nothing can be sent before the administrator has an email address."""


NO_ADMIN_ADDRESS = (
    "The administrator account has no email address, and every email is sent from it; "
    "set one with `ertui admin set-email ADDRESS` (or `A` in the console)."
)


@store_call
def admin_user(engine: Engine) -> User:
    with session(engine) as s:
        user = s.exec(select(User).where(col(User.is_default_admin))).first()
        if user is None:  # the migration creates it; recreate if someone deleted it
            user = User(username=ADMIN_USERNAME, is_default_admin=True)
            s.add(user)
            s.commit()
            s.refresh(user)
        return user


@store_call
def admin_email(engine: Engine) -> str | None:
    return admin_user(engine).email


@store_call
def require_admin_email(engine: Engine) -> str:
    address = admin_email(engine)
    if not address:
        raise NoAdminAddressError(NO_ADMIN_ADDRESS)
    return address


@store_call
def set_admin_email(engine: Engine, value: str) -> str:
    address = validate.email(value, validate.ADMIN_EMAIL)
    update_row(engine, User, admin_user(engine).id, email=address)
    audit.record(engine, "admin.set", f"administrator address set to {address!r}")
    return address
