"""Who is acting, for the audit log: the front end (set once per process by
the command line's entry or the console's start; "api" for the Python API),
the OS user, and ``SSH_CLIENT``'s address when the session came over SSH.
A leaf with no imports of ertui, so the command line's entry stays light."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    front_end: str  # "cli" | "console" | "api"
    os_user: str
    ssh_client: str | None


_front_end = "api"


def set_front_end(name: str) -> None:
    global _front_end
    _front_end = name


def current_actor() -> Actor:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = f"uid {os.getuid()}"
    ssh = os.environ.get("SSH_CLIENT", "").split()
    return Actor(_front_end, user[:255], ssh[0][:255] if ssh else None)
