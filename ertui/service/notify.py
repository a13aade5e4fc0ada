"""systemd's notify protocol: one datagram per message to ``$NOTIFY_SOCKET``
(an address starting with ``@`` is in the abstract namespace). Without that
variable nothing is sent and nothing changes. Errors are swallowed: a
supervisor that went away must not stop deliveries."""

from __future__ import annotations

import os
import socket

from ertui.validate import digits


class Notifier:
    def __init__(self, address: str) -> None:
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.sent: list[str] = []

    @classmethod
    def from_env(cls) -> Notifier | None:
        address = os.environ.get("NOTIFY_SOCKET", "")
        return cls(address) if address else None

    def send(self, *lines: str) -> bool:
        data = "\n".join(lines).encode("utf-8", "replace")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(data, self.address)
        except OSError:
            return False
        self.sent.extend(lines)
        return True

    def ready(self) -> bool:
        return self.send("READY=1", f"MAINPID={os.getpid()}")

    def status(self, status: str) -> bool:
        return self.send(f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.send("STOPPING=1", "STATUS=stopping: finishing what is in flight")


def watchdog_interval(default: float = 5.0) -> float:
    """How often to send WATCHDOG=1: half of ``$WATCHDOG_USEC`` when systemd set
    it for this process, else ``default`` (harmless without a watchdog)."""
    usec = digits(os.environ.get("WATCHDOG_USEC", ""))
    pid = os.environ.get("WATCHDOG_PID", "")
    if usec and (not pid or pid == str(os.getpid())):
        return max(0.05, min(default, usec / 2_000_000))
    return default


def logs_to_journal(fd: int) -> bool:
    """True when ``fd`` is the journal's stream (``$JOURNAL_STREAM`` names its
    device and inode): the journal stamps each line, so the log need not."""
    raw = os.environ.get("JOURNAL_STREAM", "")
    dev, ino = (digits(part, 20) for part in raw.partition(":")[::2])  # (64-bit numbers)
    if dev is None or ino is None:
        return False
    try:
        st = os.fstat(fd)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)
