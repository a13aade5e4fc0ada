"""``ertui service unit``: the systemd unit of the worker, for this ertui and store."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from ertui.config import resolve_db_url
from ertui.errors import Field, ValidationError

WATCHDOG_SEC = 30


def ertui_path() -> str:
    """The absolute path of this ertui: the running script, else the one beside
    this Python, else the one on PATH, else ``python -m ertui``."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "ertui" and argv0.exists():
        return str(argv0.resolve())
    beside = Path(sys.executable).parent / "ertui"
    if beside.exists():
        return str(beside)
    found = shutil.which("ertui")
    if found:
        return str(Path(found).resolve())
    return f"{Path(sys.executable).resolve()} -m ertui"


DB = Field("db", "--db")


def _quote(arg: str, *, command: bool = False) -> str:
    """One word for a unit setting (systemd's quoting: double quotes, ``%``
    doubled; in a command line ``$`` doubled too, or systemd would expand it).
    A control character cannot be written in a unit: ValidationError."""
    if any(ord(c) < 32 or ord(c) == 127 for c in arg):
        raise ValidationError(DB, "--db must not contain control characters (a unit cannot hold them).")
    arg = arg.replace("%", "%%")
    if command:
        arg = arg.replace("$", "$$")
    if arg and all(c.isalnum() or c in "/._-:+=@," for c in arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def store_folder(url: str) -> str | None:
    """The folder of an SQLite store (it must stay writable: the file, its WAL
    and its lock), or None for a server database."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return str(Path(u.database).expanduser().resolve().parent)


ENV_FILE = "/etc/ertui/worker.env"


def render(db_url: str | None = None, *, user_unit: bool = False) -> str:
    """The unit text for the store ``db_url`` (default: the configured one). A
    store URL that holds a password is not written into the unit (every user
    can read a unit): it goes in an environment file, which the unit names."""
    url = resolve_db_url(db_url)
    try:
        make_url(url)
    except Exception:  # sqlalchemy raises ArgumentError or ValueError for junk
        raise ValidationError(DB, "--db must be an SQLAlchemy URL or an SQLite file path.") from None
    secret_url = has_password(url)
    exec_start = [*shlex.split(ertui_path())]
    if not secret_url:
        exec_start += ["--db", url]
    exec_start.append("worker")
    lines = [
        "[Unit]",
        "Description=ertui mail delivery worker",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        "ExecStart=" + " ".join(_quote(a, command=True) for a in exec_start),
        "Restart=on-failure",
        "RestartSec=5s",
        f"WatchdogSec={WATCHDOG_SEC}s",
        "TimeoutStopSec=90s",
        # SIGTERM to the main process only: it passes the signal on to its
        # --processes children once (a second SIGTERM would make them hurry)
        "KillMode=mixed",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "ProtectControlGroups=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelTunables=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
    ]
    owner = None if user_unit else service_user(store_folder(url))
    if owner:
        lines.append("User=" + owner)
    if secret_url:
        lines.append(f"# ERTUI_DB=<the store URL> goes in {ENV_FILE} (mode 0600): it holds a password.")
        lines.append(f"EnvironmentFile={ENV_FILE}")
    folder = store_folder(url)
    if folder:
        lines.append("ReadWritePaths=" + _quote(folder))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):  # where the key file is found
        value = os.environ.get(name)
        if value:
            lines.append("Environment=" + _quote(f"{name}={value}"))
    lines += ["", "[Install]", "WantedBy=" + ("default.target" if user_unit else "multi-user.target"), ""]
    return "\n".join(lines)


def service_user(folder: str | None) -> str | None:
    """The user a system unit runs as: the owner of the store's folder (it
    reads the store and the key), else the user writing the unit; None for root."""
    import pwd

    uid = os.getuid()
    if folder and os.path.isdir(folder):
        uid = os.stat(folder).st_uid
    if uid == 0:
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def has_password(url: str) -> bool:
    try:
        return bool(make_url(url).password)
    except Exception:  # not a URL sqlalchemy can read: the worker will say so
        return False
