"""`ertui …`: parse, call one core function, print. Expected errors become one
sentence on stderr (exit 2 for bad input, 1 otherwise), never a traceback."""

from __future__ import annotations

import sys

import click

from ertui import __version__, actor
from ertui.cli.common import ErtuiGroup, Obj, not_empty

# Command name -> the modules whose ``register(cli)`` provides it. Imported on
# first use, so `ertui host show` does not pay for the SMTP stack or Textual.
LAZY_COMMANDS: dict[str, tuple[str, ...]] = {
    "mta": ("ertui.cli.mta", "ertui.cli.mta_test", "ertui.cli.mta_probe"),
    "host": ("ertui.cli.admin_host",),
    "admin": ("ertui.cli.admin_host",),
    "send": ("ertui.cli.queue",),
    "queue": ("ertui.cli.queue", "ertui.cli.queue_shape"),
    "worker": ("ertui.cli.worker",),
    "user": ("ertui.cli.user",),
    "demo": ("ertui.cli.demo",),
    "log": ("ertui.cli.log",),
    "doctor": ("ertui.cli.doctor",),
    "serve": ("ertui.cli.serve",),
    "metrics": ("ertui.cli.metrics",),
    "check": ("ertui.cli.check",),
    "service": ("ertui.cli.service",),
    "retention": ("ertui.cli.service",),
    "audit": ("ertui.cli.audit",),
    "policy": ("ertui.cli.policy",),
}


# Their one-line help, for `ertui --help` (which loads none of them).
LAZY_HELP: dict[str, str] = {
    "admin": "The sender of every email: the administrator's address, a From name, a Reply-To.",
    "audit": "Every change to the settings: when, who, from where.",
    "check": "A monitoring check (Nagios/Icinga exit codes 0-3).",
    "demo": "The console on a demo store with a local SMTP sink.",
    "doctor": "Why is mail not going out? A checklist with a fix for each failure.",
    "host": "The Master Server Host Name for Email Links.",
    "log": "One line per delivery attempt of every worker; --follow for live.",
    "metrics": "The Prometheus metrics, printed once.",
    "mta": "Message Transfer Agents: list, add, edit, remove, enable, test, probe.",
    "policy": "The delivery policy: retry delays, message lifetime, attempts, MTA cooldown.",
    "queue": "The mail queue: list, show, shape, retry, hold, release, delete, purge.",
    "retention": "How long sent and failed messages are kept.",
    "send": "Queue an email from the administrator's address.",
    "serve": "The console in a browser, behind a login.",
    "service": "A systemd unit for the worker.",
    "user": "Users and password recovery.",
    "worker": "Deliver the queue over every enabled MTA.",
}


@click.group(cls=ErtuiGroup, lazy=LAZY_COMMANDS, lazy_help=LAZY_HELP, invoke_without_command=True)
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    default=None,
    callback=not_empty,
    help="Store: an SQLAlchemy URL or an SQLite file path (default: $ERTUI_DB, then a file in the user data dir).",
)
@click.version_option(__version__, prog_name="ertui")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None) -> None:
    """ertui: a terminal console for a server's outgoing mail.

    Without a command, opens the console.
    """
    ctx.obj = Obj(db_url)
    actor.set_front_end("cli")  # the console says "console" when it starts
    if ctx.invoked_subcommand is None:
        from ertui.cli.console import run_console

        run_console(ctx.obj)


def main() -> None:
    cli.main(prog_name="ertui")
    sys.exit(0)
