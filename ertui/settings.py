"""Settings: the master server host name for email links, the administrator
account whose address is the sender of every email, and the sender's identity
(a From display name and a Reply-To address) that every email carries."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from ertui import audit, render, validate
from ertui.errors import ErtuiError, Field
from ertui.store.engine import session, store_call, update_row
from ertui.store.models import Setting, User

MASTER_HOST_KEY = "master_host_name"
FROM_NAME_KEY = "sender_from_name"
REPLY_TO_KEY = "sender_reply_to"
ADMIN_USERNAME = "admin"
MAX_FROM_NAME = 100
FROM_NAME = Field("from_name", "From name")
REPLY_TO = Field("reply_to", "Reply-To")


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
def get_settings(engine: Engine, keys: tuple[str, ...]) -> dict[str, str]:
    """The stored values of ``keys`` in one query (a key not stored is absent)."""
    with session(engine) as s:
        rows = s.exec(select(Setting).where(col(Setting.key).in_(keys))).all()
        return {row.key: row.value for row in rows}


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


# -- the sender's identity -------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    """Who every email is from: the administrator's address, an optional display
    name and an optional Reply-To address."""

    address: str
    name: str = ""
    reply_to: str | None = None

    @property
    def from_header(self) -> str:
        """The From header's value, header-safe (``render.address_header``)."""
        return render.address_header(self.address, self.name)


@store_call
def sender_identity(engine: Engine) -> tuple[str, str | None]:
    """(From display name, "" when none; Reply-To address or None)."""
    stored = get_settings(engine, (FROM_NAME_KEY, REPLY_TO_KEY))
    return stored.get(FROM_NAME_KEY, ""), stored.get(REPLY_TO_KEY) or None


@store_call
def sender(engine: Engine) -> Sender:
    """The sender of every email (tests, notifications, recovery): the one place
    it is read. Raises ``NoAdminAddressError`` while there is no address."""
    name, reply_to = sender_identity(engine)
    return Sender(require_admin_email(engine), name, reply_to)


def check_from_name(value: str) -> str:
    """A display name: one line, at most 100 characters, no control character
    (CR/LF above all: a header must not be split); "" for none."""
    if not value.strip(" "):
        return ""
    return validate.short_text(value, FROM_NAME, MAX_FROM_NAME)


@store_call
def set_from_name(engine: Engine, value: str) -> str:
    """Set (or with "" clear) the From display name; audited."""
    name = check_from_name(value)
    old, _ = sender_identity(engine)
    if name != old:
        put_setting(engine, FROM_NAME_KEY, name)
        audit.record(engine, "sender.name", f"From name set to {name!r}" if name else "From name cleared")
    return name


@store_call
def set_reply_to(engine: Engine, value: str | None) -> str | None:
    """Set (or with None or "" clear) the Reply-To address; audited."""
    address = validate.email(value, REPLY_TO) if value and value.strip() else None
    _, old = sender_identity(engine)
    if address != old:
        put_setting(engine, REPLY_TO_KEY, address or "")
        audit.record(engine, "sender.reply_to", f"Reply-To set to {address!r}" if address else "Reply-To cleared")
    return address


@store_call
def set_sender(engine: Engine, address: str, name: str, reply_to: str | None) -> Sender:
    """The Sender dialog's Ok: every field checked before any is written; each
    change audited as its own command would be."""
    new = Sender(
        validate.email(address, validate.ADMIN_EMAIL),
        check_from_name(name),
        validate.email(reply_to, REPLY_TO) if reply_to and reply_to.strip() else None,
    )
    if new.address != admin_email(engine):
        set_admin_email(engine, new.address)
    set_from_name(engine, new.name)
    set_reply_to(engine, new.reply_to)
    return new
