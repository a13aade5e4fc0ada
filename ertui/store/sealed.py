"""Messages that carry a secret (a password-recovery link), sealed at rest.

A copy of the store (a backup) must not hold a working reset link. Such a
message is kept as:

- ``body``: the text with every token masked (``token=`` and the first 4
  characters, then ``…``): what every output (queue list/show, the console's
  message view) shows;
- ``raw``: ``MAGIC``, the real bytes encrypted with the vault key (a Fernet
  token), a newline, then the bytes of the masked message.

Only the worker opens the seal (:func:`open_raw`, where a claim reads the
bytes), in memory, just before sending; the tokens it finds there
(:func:`secrets`) are redacted from every reply to the message. Once the
message is sent or failed (expired included) :func:`erase` keeps only the
masked bytes: the headers and the masked body stay for the log, the token is
gone.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from ertui.errors import VaultError
from ertui.store.models import Message, MessageKind, MessageStatus
from ertui.store.vault import Vault

MAGIC = b"ertui-sealed:1\n"
SEALED_KINDS = (MessageKind.PASSWORD_RECOVERY.value,)
# Once a message is in one of these, its secret is no longer needed.
FINISHED = (MessageStatus.SENT.value, MessageStatus.FAILED.value)
_CHARS = "[A-Za-z0-9_~.%-]"  # of a token in a link (URL-safe, or percent-encoded)
_TOKEN = re.compile(rf"(token=)({_CHARS}{{4}}){_CHARS}*")
T = Message.__table__  # type: ignore[attr-defined]
log = logging.getLogger("ertui.worker")
# The ids of sealed messages this process opened to send (see ``erase``).
_opened: set[int] = set()


def mask_tokens(text: str) -> str:
    """``text`` with every ``token=…`` value cut to its first 4 characters and ``…``."""
    return _TOKEN.sub(r"\1\2…", text)


def seal(raw: bytes, masked_raw: bytes, vault: Vault | None = None) -> bytes:
    """What is stored for a message whose real bytes ``raw`` hold a secret."""
    return MAGIC + (vault or Vault.load()).seal(raw) + b"\n" + masked_raw


def is_sealed(stored: bytes) -> bool:
    return stored.startswith(MAGIC)


def _split(stored: bytes) -> tuple[bytes, bytes]:
    token, _, masked = stored[len(MAGIC) :].partition(b"\n")
    return token, masked


def masked_raw(stored: bytes) -> bytes:
    """The bytes that may be shown or kept: the masked message of a sealed row."""
    return _split(stored)[1] if is_sealed(stored) else stored


def open_raw(stored: bytes, message_id: int | None = None) -> bytes:
    """The bytes to send: a sealed message decrypted (in memory only), any
    other message as it is. Without the right key the masked bytes are sent
    (a link that does not work, never a crash of the worker) and it is logged.
    ``message_id`` is remembered, so that :func:`erase` looks only at messages
    this process opened (and costs nothing for all the others)."""
    if not is_sealed(stored):
        return stored
    if message_id is not None:
        _opened.add(message_id)
    token, masked = _split(stored)
    try:
        return Vault.load().unseal(token)
    except VaultError as exc:
        log.error("%s The message goes out with its link masked.", exc)
        return masked


_TOKEN_VALUE = re.compile(rf"token=({_CHARS}{{16,}})")  # (a masked one has 4 and "…")


def secrets(raw: bytes) -> tuple[str, ...]:
    """The secrets in the real bytes of a sealed message: each ``token=`` value
    of its text, the transfer encoding undone, as written and URL-decoded. The
    worker redacts them from the replies to the message (a spam filter may
    quote the link back), which are logged and stored."""
    found: set[str] = set()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for part in message.walk():
        if part.get_content_maintype() != "text":
            continue
        try:
            text = part.get_content()
        except (LookupError, ValueError):  # (an unknown charset: not one ertui writes)
            continue
        for value in _TOKEN_VALUE.findall(str(text)):
            found |= {value, unquote(value)}
    return tuple(sorted(found))


def reveal(stored: bytes) -> bytes:
    """The real bytes of a sealed message for an operator who asked for them
    (``queue show --raw --reveal-secrets``); raises VaultError without the key."""
    if not is_sealed(stored):
        return stored
    return Vault.load().unseal(_split(stored)[0])


def erase(conn: Connection, ids: Iterable[int]) -> int:
    """Of the messages ``ids`` this process opened, those now sent or failed
    lose their sealed secret (only the masked bytes stay); one only deferred
    stays sealed. Ids stay remembered (one int per recovery email), so a write
    that is rolled back and tried again still erases. Returns how many were erased."""
    wanted = sorted(_opened.intersection(ids))
    if not wanted:
        return 0  # the worker's hot path: nothing this process unsealed
    n = 0
    for i in range(0, len(wanted), 500):
        rows = conn.execute(
            select(T.c.id, T.c.raw).where(
                T.c.id.in_(wanted[i : i + 500]), T.c.kind.in_(SEALED_KINDS), T.c.status.in_(FINISHED)
            )
        ).all()
        for mid, stored in rows:
            if is_sealed(bytes(stored)):
                conn.execute(update(T).where(T.c.id == mid).values(raw=masked_raw(bytes(stored))))
                n += 1
    return n
