"""The demo: an embedded SMTP sink on 127.0.0.1 and a store set up to deliver to it.

``ertui demo`` uses :func:`demo_environment`: a fresh temporary store (or the
one given), an aiosmtpd sink on a free loopback port that counts what it
receives, two MTAs — one pointing at the sink, one at a closed port so that
failover is visible — an administrator address, a master host name and a few
dozen queued messages. Everything goes through the core services; nothing
here imports Textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine

from ertui import mtas, queue, settings
from ertui.config import ENV_KEY_FILE
from ertui.errors import ErtuiError, NotFoundError
from ertui.mta_rules import Security
from ertui.smtp_sink import ThreadedServer, closed_port
from ertui.store.models import MessageKind

HEALTHY_MTA = "Demo sink"
BROKEN_MTA = "Broken relay (closed port)"
ADMIN_EMAIL = "admin@ertui-demo.example.com"
MASTER_HOST = "console.ertui-demo.example.com"
DEFAULT_MESSAGES = 36

_SUBJECTS = (
    "Scan finished: {n} new matches",
    "[URGENT] Data breach report #{n}",
    "Weekly summary for target group {n}",
    "Password recovery for user{n}",
    "Agent offline: host-{n} [bold]not reachable[/bold]",
    "Remediation task {n} assigned to you",
)


class DemoSink(ThreadedServer):
    """An aiosmtpd server on 127.0.0.1 (free port) that accepts and counts mail."""

    def __init__(self, hostname: str = "sink.ertui-demo.local", *, delay: float = 0.0) -> None:
        super().__init__(name="ertui-demo-sink")
        self.hostname = hostname
        self.delay = delay  # seconds each message takes, so deliveries can be watched
        self.recipients: list[str] = []
        self._count = 0
        self._lock = threading.Lock()

    @property
    def received(self) -> int:
        with self._lock:
            return self._count

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self._count += 1
            self.recipients.extend(str(r) for r in envelope.rcpt_tos)
            n = self._count
        return f"250 2.0.0 Ok: queued as DEMO{n:05d}"

    async def _create(self) -> asyncio.Server:
        return await asyncio.get_running_loop().create_server(
            lambda: SMTP(self, hostname=self.hostname, ident="ertui demo sink"),
            "127.0.0.1",
            0,
        )


def _put_mta(engine: Engine, description: str, port: int) -> None:
    """Add the MTA, or point an existing one of that name at ``port`` (a reused --db)."""
    try:
        existing = mtas.get(engine, description)
    except NotFoundError:
        mtas.add(
            engine,
            description=description,
            host="127.0.0.1",
            port=port,
            security=Security.NONE,
            max_connections=2,
            timeout=5.0,
        )
        return
    assert existing.id is not None
    mtas.edit(engine, existing.id, host="127.0.0.1", port=port, enabled=True)


def demo_message(i: int) -> tuple[str, str, str]:
    """(recipient, subject, body) of sample message number ``i``."""
    subject = _SUBJECTS[i % len(_SUBJECTS)].format(n=i)
    to = f"operator{i:02d}@ertui-demo.example.com"
    body = f"Hello,\n\nthis is demo message {i}, queued by `ertui demo`.\n"
    return to, subject, body


def demo_messages(count: int) -> list[tuple[str, str, str]]:
    """(recipient, subject, body) for ``count`` sample messages."""
    return [demo_message(i) for i in range(1, count + 1)]


def setup_store(engine: Engine, sink_port: int, *, messages: int = DEFAULT_MESSAGES) -> list[int]:
    """Two MTAs (healthy first, broken second), an admin address and a host name
    (unless the store has them), and queued mail.

    Returns the ids of the queued messages.
    """
    own = [
        m.description for m in mtas.list_mtas(engine) if m.enabled and m.description not in (HEALTHY_MTA, BROKEN_MTA)
    ]
    if own:
        raise ErtuiError(
            f"This store has enabled MTAs of its own ({', '.join(map(repr, own))}): the demo's "
            "sample mail would go out through them. Leave out --db for a fresh demo store, "
            "or disable them first."
        )
    _put_mta(engine, HEALTHY_MTA, sink_port)
    _put_mta(engine, BROKEN_MTA, closed_port())
    # A store given with --db keeps its own administrator address and host name.
    if not settings.admin_email(engine):
        settings.set_admin_email(engine, ADMIN_EMAIL)
    if settings.master_host(engine).is_default:
        settings.set_master_host(engine, MASTER_HOST)
    ids: list[int] = []
    for to, subject, body in demo_messages(messages):
        ids.extend(queue.enqueue(engine, to, subject, body, MessageKind.NOTIFICATION))
    return ids


@dataclass
class Demo:
    engine: Engine
    sink: DemoSink
    db_url: str
    message_ids: list[int]

    def status_line(self) -> str:
        return f"Demo sink received {self.sink.received} messages"


class Trickle:
    """Queues one more demo message every ``every`` seconds, so the console keeps moving."""

    def __init__(self, engine: Engine, every: float, start: int) -> None:
        self.engine = engine
        self.every = every
        self._n = start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ertui-demo-trickle", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._n += 1
            to, subject, body = demo_message(self._n)
            with contextlib.suppress(Exception):  # a busy store skips one; the demo goes on
                queue.enqueue(self.engine, to, subject, body, MessageKind.NOTIFICATION)

    def __enter__(self) -> Trickle:
        if self.every > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)


@contextlib.contextmanager
def _key_file_in(folder: Path) -> Iterator[None]:
    """While the demo runs, secrets saved in its store are encrypted with a key
    kept in its own temporary folder (removed with it), not ~/.config/ertui."""
    before = os.environ.get(ENV_KEY_FILE)
    os.environ[ENV_KEY_FILE] = str(folder / "secret.key")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV_KEY_FILE, None)
        else:
            os.environ[ENV_KEY_FILE] = before


@contextlib.contextmanager
def demo_environment(
    db_url: str | None = None,
    *,
    messages: int = DEFAULT_MESSAGES,
    sink_delay: float = 0.0,
    trickle_every: float = 0.0,
) -> Iterator[Demo]:
    """The sink running and the store ready; everything stopped (and a temporary
    store removed) on the way out. ``sink_delay`` slows each delivery down and
    ``trickle_every`` queues one more message every so many seconds (0: off)."""
    from ertui.store.engine import make_engine

    tmpdir: Path | None = None
    own_key: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if not db_url:
        tmpdir = Path(tempfile.mkdtemp(prefix="ertui-demo-"))
        db_url = f"sqlite:///{tmpdir / 'demo.db'}"
        own_key = _key_file_in(tmpdir)  # a demo never writes the operator's key
    try:
        with own_key, DemoSink(delay=sink_delay) as sink:
            engine = make_engine(db_url)
            try:
                ids = setup_store(engine, sink.port, messages=messages)
                with Trickle(engine, trickle_every, start=messages):
                    yield Demo(engine=engine, sink=sink, db_url=db_url, message_ids=ids)
            finally:
                engine.dispose()
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
