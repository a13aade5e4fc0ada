"""The Test (and the probe) as steps: dns, tcp, tls, ehlo, starttls, auth,
mail, rcpt, data, quit — each with its time and what it found.

``StepRecorder`` is a transcript that watches itself being written: the
transport already traces every command, reply and TLS note for the Test, so
the steps are read from that trace as it happens (``on_step`` sees each one
the moment it ends) and the send path itself is unchanged. The DNS step is
the probe's own lookup before it connects.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ertui.smtp.outcome import Step
from ertui.smtp.transcript import Transcript

ORDER = ("dns", "tcp", "tls", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "quit")
EXPIRY_WARNING = timedelta(days=14)
EXTENSIONS = ("SIZE", "STARTTLS", "AUTH", "PIPELINING", "SMTPUTF8", "8BITMIME")
_VERBS = {"EHLO": "ehlo", "HELO": "ehlo", "STARTTLS": "starttls", "AUTH": "auth", "MAIL": "mail", "RCPT": "rcpt",
          "DATA": "data", "QUIT": "quit"}  # fmt: skip
_NOT_AFTER = re.compile(r"notAfter\) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC")
_DONE = {"tcp": (220,), "starttls": (220,), "auth": (235,), "mail": (250,), "rcpt": (250, 251),
         "data": (250,), "quit": (221,)}  # fmt: skip


class StepRecorder(Transcript):
    """A transcript that also keeps the steps of the session it records."""

    def __init__(self, *, verify_tls: bool = True, on_step: Callable[[Step], None] | None = None) -> None:
        super().__init__()
        self.steps: list[Step] = []
        self.verify_tls = verify_tls
        self.on_step = on_step
        self._open: str | None = None
        self._started = time.monotonic()
        self._tls: list[str] = []
        self._in_data = False
        self._pipelining = ""  # said of mail, rcpt and data: "pipelined" or why not
        self._group_failed = ""  # "mail"/"rcpt" refused in a pipelined group: what follows echoes it

    # -- the steps ---------------------------------------------------------------

    def add(self, step: Step) -> None:
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)

    def _begin(self, name: str) -> None:
        self._finish_tls()
        self._open = name
        self._started = time.monotonic()

    def _end(self, ok: bool, detail: str, warning: str = "") -> None:
        if self._open is None:
            return
        ms = (time.monotonic() - self._started) * 1000
        name, self._open = self._open, None
        if self._pipelining and name in ("mail", "rcpt", "data"):
            detail = f"{detail} ({self._pipelining})"
        self.add(Step(name, ok, round(ms, 1), detail, warning))
        self._started = time.monotonic()

    def _finish_tls(self) -> None:
        if not self._tls:
            return
        lines, self._tls = self._tls, []
        detail = "; ".join(lines) + f"; verified: {'yes' if self.verify_tls else 'no (Verify TLS is off)'}"
        self.add(Step("tls", True, None, detail, _expiry_warning(lines)))

    # -- the trace ----------------------------------------------------------------

    def note(self, text: str) -> None:
        super().note(text)
        if text.startswith("PIPELINING: "):
            offered_only = "turned off" in text
            self._group_failed = ""
            self._pipelining = "not pipelined: turned off for this MTA" if offered_only else "pipelined"
        elif text.startswith("connecting to "):
            self._begin("tcp")
        elif text.startswith(("TLS established", "server certificate")):
            if self._open == "tcp":  # SSL: the handshake came with the connection
                self._end(True, "connected")
            self._tls.append(text)
        elif text.startswith("failed: "):
            summary = text.removeprefix("failed: ")
            self._finish_tls()
            if summary.startswith("tls_"):  # the handshake failed: the connection itself was made
                if self._open == "tcp":
                    self._end(True, "connected")
                self._open = None
                self.add(Step("tls", False, None, summary))
            elif self._open is not None:
                self._end(False, summary)

    def client(self, text: str) -> None:
        super().client(text)
        verb = text.split(" ", 1)[0].upper()
        step = _VERBS.get(verb)
        if step is None or (step == "auth" and self._open == "auth"):
            return
        self._in_data = step == "data"
        self._begin(step)

    def server(self, code: int, message: str) -> None:
        message = self.scrub(message)  # a step's detail quotes the server: never an echoed secret
        super().server(code, message)
        name = self._open
        if name is None:
            return
        first = message.split("\n", 1)[0]
        if name == "tcp":
            self._end(code == 220, f"greeting {code} {first}")
        elif name == "ehlo":
            if 200 <= code < 300:
                self._end(True, _ehlo_detail(message))
            else:
                self._end(False, f"{code} {first}")
        elif (name == "auth" and code == 334) or (name == "data" and code == 354):
            return  # the step goes on
        elif code >= 400 and name in {"mail": ("rcpt", "data"), "rcpt": ("data",)}.get(self._group_failed, ()):
            self._open = None  # RFC 2920: the server refuses what follows a refused MAIL/RCPT; not a step
        elif code in _DONE.get(name, (250,)):
            self._end(True, f"{code} {first}")
        else:
            self._group_failed = name if self._pipelining == "pipelined" else ""
            self._end(False, f"{code} {first}")

    def dns(self, ok: bool, ms: float, detail: str) -> None:
        self.add(Step("dns", ok, round(ms, 1), detail))


def _ehlo_detail(message: str) -> str:
    lines = message.split("\n")
    server = lines[0].split(" ", 1)[0] if lines and lines[0] else "?"
    found = []
    for line in lines[1:]:
        word = line.split(" ", 1)[0].upper()
        if word in EXTENSIONS:
            found.append(line.strip() if word in ("AUTH", "SIZE") else word)
    return f"{server}; extensions: {', '.join(found) or 'none of ' + '/'.join(EXTENSIONS)}"


def _expiry_warning(lines: list[str], now: datetime | None = None) -> str:
    for line in lines:
        match = _NOT_AFTER.search(line)
        if match:
            not_after = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            left = not_after - (now or datetime.now(UTC))
            if left < EXPIRY_WARNING:
                days = max(0, left.days)
                return f"the certificate expires in {days} day(s), on {match.group(1)} UTC"
    return ""


def planned(security: str, use_auth: bool, sends: bool) -> list[str]:
    """The steps a Test (``sends``) or a probe of this configuration goes through."""
    skip = set()
    if security == "none":
        skip |= {"tls", "starttls"}
    elif security == "ssl":
        skip.add("starttls")
    if not use_auth:
        skip.add("auth")
    if not sends:
        skip |= {"mail", "rcpt", "data"}
    return [name for name in ORDER if name not in skip]
