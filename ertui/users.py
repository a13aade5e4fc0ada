"""User accounts, as much as password recovery needs: name, address, password hash.

Passwords are hashed with scrypt (standard library), salted, and checked in
constant time. The default administrator ``admin`` can never be removed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from ertui import audit, validate
from ertui.errors import ErtuiError, NotFoundError, ValidationError
from ertui.store.engine import delete_row, session, store_call, update_row
from ertui.store.models import User
from ertui.timeutil import iso

MIN_PASSWORD_LEN = 8
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, n, r, p, salt, digest = stored.split("$")
    expected = base64.b64decode(digest)
    got = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=len(expected),
    )
    return hmac.compare_digest(got, expected)


def check_new_password(value: str | None) -> str:
    if not value or len(value) < MIN_PASSWORD_LEN:
        raise ValidationError(validate.PASSWORD, f"Password must be at least {MIN_PASSWORD_LEN} characters long.")
    return validate.secret(value)


def to_dict(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.email,
        "is_default_admin": user.is_default_admin,
        "has_password": user.password_hash is not None,
        "created_at": iso(user.created_at),
    }


@store_call
def list_users(engine: Engine) -> list[User]:
    with session(engine) as s:
        return list(s.exec(select(User).order_by(col(User.id))).all())


def _same_name(username: str) -> ColumnElement[bool]:
    """Usernames are one name whatever their case (a unique index on lower(username))."""
    return func.lower(col(User.username)) == username.strip().lower()


@store_call
def get_user(engine: Engine, username: str) -> User:
    with session(engine) as s:
        user = s.exec(select(User).where(_same_name(username))).first()
    if user is None:
        raise NotFoundError(f"There is no user named {username.strip()!r}.")
    return user


@store_call
def add_user(engine: Engine, username: str, *, email: str | None = None, password: str | None = None) -> User:
    name = validate.account_name(username)
    address = validate.email(email) if email else None
    pw_hash = hash_password(check_new_password(password)) if password is not None else None
    with session(engine) as s:
        taken = s.exec(select(User.username).where(_same_name(name))).first()
        if taken is not None:
            same = "" if taken == name else f" (as {taken!r}: names are the same whatever their case)"
            raise ValidationError(validate.USERNAME, f"Username {name!r} is already taken{same}.")
        user = User(username=name, email=address, password_hash=pw_hash)
        s.add(user)
        s.commit()
        s.refresh(user)
    audit.record(engine, "user.add", f"user {name!r} added" + (" with a password" if pw_hash else ""))
    return user


@store_call
def set_email(engine: Engine, username: str, email: str) -> User:
    address = validate.email(email)
    user = _update(engine, username, email=address)
    # the default administrator's address is the sender of every email: the same change as `admin set-email`
    what = "administrator address set to" if user.is_default_admin else f"email of user {user.username!r} set to"
    audit.record(engine, "admin.set" if user.is_default_admin else "user.set_email", f"{what} {address!r}")
    return user


def _update(engine: Engine, username: str, **values: Any) -> User:
    row = update_row(engine, User, get_user(engine, username).id, **values)
    if row is None:
        raise NotFoundError(f"There is no user named {username.strip()!r}.")
    return row


class ProtectedUserError(ErtuiError):
    """The default administrator is the sender of every email and stays."""


@store_call
def remove_user(engine: Engine, username: str) -> User:
    user = get_user(engine, username)
    if user.is_default_admin:
        raise ProtectedUserError(
            f"The default administrator {user.username!r} cannot be removed: its address is the sender of every email."
        )
    delete_row(engine, User, user.id)
    audit.record(engine, "user.remove", f"user {user.username!r} removed")
    return user
