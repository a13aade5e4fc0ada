"""The store's tables (SQLModel) and the enums they use.

Schema changes go through an Alembic revision in ``ertui/store/migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, true
from sqlmodel import Field, SQLModel

from ertui.mta_rules import DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT, AuthMechanism, Security
from ertui.store.types import UTCDateTime
from ertui.timeutil import utcnow

# Row ids are INTEGER columns (32 bits on PostgreSQL): a larger number names no row.
MAX_ID = 2**31 - 1


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    DEFERRED = "deferred"
    HELD = "held"
    FAILED = "failed"
    SENT = "sent"


# The status sets, written once (as plain strings: what the column holds).
# Not delivered (yet): the queue's "unsent" view.
UNSENT_STATUSES: tuple[str, ...] = tuple(s.value for s in MessageStatus if s is not MessageStatus.SENT)
# On their way: a worker sends them without anyone's help.
WAITING_STATUSES: tuple[str, ...] = (
    MessageStatus.QUEUED.value,
    MessageStatus.SENDING.value,
    MessageStatus.DEFERRED.value,
)
# Due once next_attempt_at has passed: what a claim takes and `retry` makes due now.
DUE_STATUSES: tuple[str, ...] = (MessageStatus.QUEUED.value, MessageStatus.DEFERRED.value)
# Unsent and not being sent: what `hold` takes.
HOLDABLE_STATUSES: tuple[str, ...] = (*DUE_STATUSES, MessageStatus.FAILED.value)


class MessageKind(StrEnum):
    TEST = "test"
    NOTIFICATION = "notification"
    PASSWORD_RECOVERY = "password_recovery"


def _utc(nullable: bool = True, index: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(UTCDateTime(), nullable=nullable, index=index)


class Mta(SQLModel, table=True):
    __tablename__ = "mta"

    id: int | None = Field(default=None, primary_key=True)
    description: str = Field(max_length=100)
    # Lower-cased description: the unique key, so "Relay" and "relay" collide.
    description_key: str = Field(max_length=100, unique=True)
    host: str = Field(max_length=253)
    port: int
    security: str = Field(default=Security.NONE.value, max_length=16)
    use_auth: bool = False
    username: str | None = Field(default=None, max_length=255)
    # Fernet token (see vault.py); never the password itself.
    password_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    enabled: bool = True
    verify_tls: bool = True
    timeout: float = DEFAULT_TIMEOUT
    # The relay's fields (revision 0005): messages per minute (0 = no limit),
    # the EHLO name (None: the master server host name), the AUTH mechanism,
    # PIPELINING, and OAuth2 for XOAUTH2 (the client secret vaulted like the password).
    rate_limit_per_minute: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    ehlo_name: str | None = Field(default=None, max_length=253)
    auth_mechanism: str = Field(
        default=AuthMechanism.AUTO.value, sa_column=Column(String(16), nullable=False, server_default="auto")
    )
    pipelining: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
    oauth_token_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    oauth_client_id: str | None = Field(default=None, max_length=255)
    oauth_scope: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    oauth_secret_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The rate limit's token bucket, shared by every worker (ertui.delivery.ratelimit):
    # tokens left at ``rate_refilled_at`` (seconds since the epoch).
    rate_tokens: float = Field(default=1.0, sa_column=Column(Float, nullable=False, server_default="1"))
    rate_refilled_at: float = Field(default=0.0, sa_column=Column(Float, nullable=False, server_default="0"))
    # Health
    last_success_at: datetime | None = Field(default=None, sa_column=_utc())
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_error_at: datetime | None = Field(default=None, sa_column=_utc())
    consecutive_failures: int = 0
    cooldown_until: datetime | None = Field(default=None, sa_column=_utc())
    sent_count: int = 0
    # The last time a worker or a Test spoke with it, and how that ended (the
    # reply or the error): "never used" only when it never was.
    last_contact_at: datetime | None = Field(default=None, sa_column=_utc())
    last_contact_result: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_utc(nullable=False))


class Message(SQLModel, table=True):
    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_status_next", "status", "next_attempt_at"),
        Index("ix_message_status_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=MessageKind.NOTIFICATION.value, max_length=32)
    sender: str = Field(max_length=320)
    recipient: str = Field(max_length=320)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    message_id: str = Field(max_length=255)
    # The final RFC 5322 bytes, rendered once at enqueue.
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default=MessageStatus.QUEUED.value, max_length=16)
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc(nullable=False))
    last_attempt_at: datetime | None = Field(default=None, sa_column=_utc())
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=_utc(nullable=False))
    expires_at: datetime = Field(sa_column=_utc(nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_mta_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("mta.id", ondelete="SET NULL"), nullable=True),
    )
    server_reply: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=_utc())
    # Lease of a `sending` row: which worker holds it and until when.
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_column=_utc())
    # The fencing token: one more at every claim, so a result or a renewal from
    # an older claim of the same row (a worker that was stopped) changes nothing.
    lease_gen: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Status before `held`, restored on release.
    held_from: str | None = Field(default=None, max_length=16)


class Attempt(SQLModel, table=True):
    __tablename__ = "attempt"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(
        sa_column=Column(Integer, ForeignKey("message.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    mta_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("mta.id", ondelete="SET NULL"), nullable=True),
    )
    mta_description: str | None = Field(default=None, max_length=100)
    started_at: datetime = Field(sa_column=_utc(nullable=False))
    duration_ms: int = 0
    # sent | deferred | failed | mta_error | released
    outcome: str = Field(max_length=16)
    kind: str | None = Field(default=None, max_length=32)
    code: int | None = None
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Setting(SQLModel, table=True):
    __tablename__ = "setting"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    email: str | None = Field(default=None, max_length=320)
    password_hash: str | None = Field(default=None, max_length=255)
    is_default_admin: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc(nullable=False))


class RecoveryToken(SQLModel, table=True):
    __tablename__ = "recovery_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    # SHA-256 of the token; the token itself is only ever in the email.
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=_utc(nullable=False))
    expires_at: datetime = Field(sa_column=_utc(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=_utc())
    # Set when a newer token replaced this one.
    revoked_at: datetime | None = Field(default=None, sa_column=_utc())


class MtaSlot(SQLModel, table=True):
    """One SMTP connection an MTA allows; a worker leases it while it holds a connection.

    At most ``max_connections`` slot numbers (0..max-1) are ever leased, so the
    limit holds across every process sharing the store.
    """

    __tablename__ = "mta_slot"

    mta_id: int = Field(
        sa_column=Column(Integer, ForeignKey("mta.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    slot_no: int = Field(sa_column=Column(Integer, primary_key=True, nullable=False))
    owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_column=_utc())
    # The fencing token: one more at every lease (see Message.lease_gen).
    gen: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


# A worker whose heartbeat (every renewal, a third of its lease) is older than
# this is not running: for `queue stats`, `ertui check`, the metrics, doctor.
WORKER_LIVE_WITHIN = timedelta(minutes=2)


class WorkerRecord(SQLModel, table=True):
    """A running delivery worker, for status screens and `queue stats`."""

    __tablename__ = "worker"

    id: str = Field(primary_key=True, max_length=64)
    hostname: str = Field(max_length=255)
    pid: int
    started_at: datetime = Field(sa_column=_utc(nullable=False))
    heartbeat_at: datetime = Field(sa_column=_utc(nullable=False))
    paused: bool = False
    # The process's start ("boot id:start ticks" from /proc on Linux): a pid
    # that is alive but started at another time is a reused pid, not this worker.
    proc_start: str | None = Field(default=None, max_length=80)


class AuditEntry(SQLModel, table=True):
    """One change to the settings (``ertui.audit``): append-only from ertui's
    side; only retention (a year) removes a row."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_utc(nullable=False, index=True))
    action: str = Field(max_length=64)
    detail: str = Field(sa_column=Column(Text, nullable=False))
    os_user: str = Field(max_length=255)
    ssh_client: str | None = Field(default=None, max_length=255)
    front_end: str = Field(max_length=16)
