"""Password recovery: single-use tokens, stored hashed, sent through the queue.

A token is 256 bits from ``secrets``; the store keeps only its SHA-256, so a
copy of the database cannot reset anyone's password. The link is built from
the stored "Master Server Host Name for Email Links" alone — never from a
request — by ``reset_link``, which the console's Edit Host preview uses too.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import func, insert, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col, select

from ertui import audit, queue, settings, users, validate
from ertui.errors import ErtuiError
from ertui.store.engine import session, store_call
from ertui.store.models import MessageKind, RecoveryToken, User
from ertui.timeutil import as_utc, utcnow

TOKEN_MINUTES_KEY = "recovery_token_minutes"
DEFAULT_TOKEN_MINUTES = 60
MAX_REQUESTS_PER_HOUR = 5
INVALID_TOKEN = "This password-reset token is invalid, expired or already used."
NO_ADDRESS = "A valid email address is required for password recovery: user {name!r} has none."


class RecoveryError(ErtuiError):
    """A refused recovery request or reset (one sentence, nothing leaked)."""


class InvalidTokenError(RecoveryError, ValueError):
    exit_code = 2


def reset_link(host: str, token: str) -> str:
    """The password-reset link for ``token`` on the master server ``host``."""
    return f"https://{host}/reset-password?token={quote(token, safe='')}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@store_call
def token_lifetime(engine: Engine) -> timedelta:
    raw = settings.get_setting(engine, TOKEN_MINUTES_KEY)
    minutes = validate.digits(raw or "", 6) or DEFAULT_TOKEN_MINUTES
    return timedelta(minutes=minutes)


@dataclass(frozen=True)
class RecoveryRequest:
    username: str
    email: str
    message_id: int
    expires_at: datetime
    link_host: str


def _body(user: User, host: str, link: str, minutes: int) -> str:
    return (
        f"Hello {user.username},\n\n"
        f"Someone asked to reset the password of the account {user.username!r} on {host}.\n"
        f"Open this link within {minutes} minutes to choose a new password:\n\n"
        f"{link}\n\n"
        "The link works once. If you did not ask for this, ignore this email:\n"
        "your password stays as it is.\n"
    )


def _lock_user(conn: Connection, user_id: int) -> None:
    """Serialise recovery requests per user until ``conn``'s transaction ends,
    so the count of recent requests and the new token are one step: SQLite
    takes the write lock now (``BEGIN IMMEDIATE``), PostgreSQL locks the user's row."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.execute(select(User.id).where(User.id == user_id).with_for_update())


@store_call
def request_recovery(engine: Engine, username: str, *, now: datetime | None = None) -> RecoveryRequest:
    """Issue a new token (revoking older ones) and enqueue the recovery email,
    at most ``MAX_REQUESTS_PER_HOUR`` per user and hour, even when requests race."""
    now = as_utc(now) if now else utcnow()
    user = users.get_user(engine, username)
    if not user.email:
        raise RecoveryError(NO_ADDRESS.format(name=user.username))
    assert user.id is not None
    settings.require_admin_email(engine)
    master = settings.master_host(engine)
    if master.problem:
        raise RecoveryError(
            f"No recovery link can be built with the host name {master.name!r}: "
            f"{master.problem.rstrip('.')}; set it with `ertui host set FQDN` (or `h` in the console)."
        )
    host = master.name
    lifetime = token_lifetime(engine)
    token = secrets.token_urlsafe(32)  # 256 bits
    link = reset_link(host, token)
    body = _body(user, host, link, int(lifetime.total_seconds() // 60))
    subject = f"Password recovery for {user.username}"
    rows = queue.prepare_batch(engine, [(user.email, subject, body)], MessageKind.PASSWORD_RECOVERY)
    tokens = RecoveryToken.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        _lock_user(conn, user.id)
        recent = conn.execute(
            select(func.count())
            .select_from(tokens)
            .where(tokens.c.user_id == user.id, tokens.c.created_at > now - timedelta(hours=1))
        ).scalar_one()
        if recent >= MAX_REQUESTS_PER_HOUR:
            raise RecoveryError(
                f"User {user.username!r} already got {MAX_REQUESTS_PER_HOUR} recovery emails in the "
                "last hour; try again later."
            )
        conn.execute(
            update(tokens)
            .where(tokens.c.user_id == user.id, tokens.c.used_at.is_(None), tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        conn.execute(
            insert(tokens).values(
                user_id=user.id, token_hash=hash_token(token), created_at=now, expires_at=now + lifetime
            )
        )
        ids = queue.insert_rows(conn, rows)
    return RecoveryRequest(user.username, user.email, ids[0], now + lifetime, host)


@store_call
def reset_password(
    engine: Engine, username: str, token: str, new_password: str, *, now: datetime | None = None
) -> None:
    """Set a new password with a valid token, once; any problem is one sentence."""
    now = as_utc(now) if now else utcnow()
    users.check_new_password(new_password)
    with session(engine) as s:
        row = s.exec(
            select(RecoveryToken, User)
            .join(User, col(User.id) == col(RecoveryToken.user_id))
            .where(RecoveryToken.token_hash == hash_token(token.strip()))
        ).first()
        if row is None:
            raise InvalidTokenError(INVALID_TOKEN)
        tok, user = row
        if (
            user.username != username.strip()
            or tok.used_at is not None
            or tok.revoked_at is not None
            or as_utc(tok.expires_at) <= now
        ):
            raise InvalidTokenError(INVALID_TOKEN)
        # Status-guarded: two resets racing with one token cannot both win.
        claimed = s.execute(
            update(RecoveryToken)
            .where(col(RecoveryToken.id) == tok.id, col(RecoveryToken.used_at).is_(None))
            .values(used_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidTokenError(INVALID_TOKEN)
        user.password_hash = users.hash_password(new_password)
        s.add(user)
        s.commit()
    audit.record(engine, "user.password", f"password of user {user.username!r} changed with a recovery token")
