"""The ``--json`` shapes of a message and of one attempt (times ISO 8601 UTC):
what `queue list`, `queue show` and scripts read."""

from __future__ import annotations

from typing import Any

from ertui.store.models import Attempt, Message
from ertui.timeutil import iso


def message_to_dict(msg: Message, mta_description: str | None = None) -> dict[str, Any]:
    """The ``--json`` shape of a message (times ISO 8601 UTC)."""
    return {
        "id": msg.id,
        "recipient": msg.recipient,
        "subject": msg.subject,
        "status": msg.status,
        "attempts": msg.attempts,
        "last_attempt_at": iso(msg.last_attempt_at),
        "next_attempt_at": iso(msg.next_attempt_at),
        "last_error": msg.last_error,
        "mta": mta_description,
        "kind": msg.kind,
        "sender": msg.sender,
        "created_at": iso(msg.created_at),
        "expires_at": iso(msg.expires_at),
        "sent_at": iso(msg.sent_at),
        "server_reply": msg.server_reply,
        "message_id": msg.message_id,
    }


def attempt_to_dict(a: Attempt) -> dict[str, Any]:
    return {
        "started_at": iso(a.started_at),
        "mta": a.mta_description,
        "outcome": a.outcome,
        "kind": a.kind,
        "code": a.code,
        "text": a.text,
        "duration_ms": a.duration_ms,
    }
