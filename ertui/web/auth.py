"""Who may open the console in a browser: the one-time token, user logins, sessions, the throttle.

No aiohttp here: the gate (``gate.py``) asks these questions and turns the
answers into responses. Secrets (the token, session ids, passwords) are
compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from ertui import users
from ertui.errors import NotFoundError
from ertui.termsafe import terminal_safe

log = logging.getLogger("ertui.web")

TOKEN_BYTES = 32  # 256 bits
SESSION_COOKIE = "ertui_session"
SESSION_LIFETIME = 12 * 3600.0  # seconds
MAX_FAILURES = 5  # wrong logins allowed per window; the next attempt is throttled
FAILURE_WINDOW = 60.0  # seconds

Clock = Callable[[], float]


class Throttle:
    """Failed logins per key (a client address, a user name) in a sliding window.

    ``MAX_FAILURES`` wrong attempts within ``FAILURE_WINDOW`` seconds and every
    further attempt under that key is refused until the oldest one ages out.
    """

    def __init__(self, clock: Clock = time.monotonic, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW):
        self.clock = clock
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def retry_after(self, *keys: str) -> float:
        """Seconds until an attempt under every key is allowed again (0: allowed now)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self.limit:
                    wait = max(wait, self.window - (now - times[-self.limit]))
            self._failures = {k: v for k, v in self._failures.items() if v}
        return wait

    def fail(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)


@dataclass
class Guard:
    """The server's secrets and sessions; one per ``ertui serve``.

    ``login_required`` is False only for a demo on a loopback address. The
    token is spent by its first use (a session cookie replaces it).
    """

    engine: Engine
    login_required: bool = True
    secure_cookie: bool = False
    clock: Clock = time.monotonic
    token: str | None = field(default_factory=lambda: secrets.token_urlsafe(TOKEN_BYTES))
    throttle: Throttle = field(init=False)
    _sessions: dict[str, float] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.throttle = Throttle(self.clock)
        if not self.login_required:
            self.token = None

    # -- sessions ------------------------------------------------------------
    def new_session(self) -> str:
        sid = secrets.token_urlsafe(TOKEN_BYTES)
        with self._lock:
            self._sessions[sid] = self.clock() + SESSION_LIFETIME
        return sid

    def valid_session(self, sid: str | None) -> bool:
        if not self.login_required:
            return True
        if not sid:
            return False
        now = self.clock()
        with self._lock:
            self._sessions = {k: until for k, until in self._sessions.items() if until > now}
            # constant time per comparison; the set of live sessions is small
            return any(hmac.compare_digest(sid.encode(), k.encode()) for k in self._sessions)

    # -- the one-time token --------------------------------------------------
    def spend_token(self, offered: str, client: str) -> bool:
        """True once, for the token printed at start; a wrong one counts as a failed login."""
        with self._lock:
            ok = self.token is not None and hmac.compare_digest(offered.encode(), self.token.encode())
            if ok:
                self.token = None
        if ok:
            log.info("login with the start-up token from %s", client)
        else:
            self.throttle.fail(client)
            log.warning("refused a wrong or spent start-up token from %s", client)
        return ok

    # -- user logins ---------------------------------------------------------
    def check_password(self, username: str, password: str, client: str) -> bool:
        """The user's name and password against ``ertui.users`` (blocking: scrypt and the store)."""
        name = username.strip()
        try:
            stored = users.get_user(self.engine, name).password_hash if name else None
        except NotFoundError:
            stored = None
        # the same work whether the user exists or not, so timing does not tell
        ok = users.verify_password(password, stored or _dummy_hash())
        ok = ok and stored is not None
        if ok:
            log.info("login as %s from %s", shown_name(name), client)
        else:
            self.throttle.fail(client, _user_key(name))
            log.warning("failed login as %s from %s", shown_name(name), client)
        return ok

    def retry_after(self, client: str, username: str | None = None) -> float:
        keys = [client] if username is None else [client, _user_key(username.strip())]
        return self.throttle.retry_after(*keys)


def shown_name(name: str) -> str:
    """A user name as typed, for the log: made safe for a terminal, and not a page long."""
    return terminal_safe(name[:64] + ("…" if len(name) > 64 else "")) or "(no name)"


def _user_key(name: str) -> str:
    return f"user:{name.casefold()}"


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(users.hash_password(secrets.token_urlsafe(16)))
    return _DUMMY[0]
