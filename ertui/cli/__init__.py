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
}


@click.group(cls=ErtuiGroup, lazy=LAZY_COMMANDS, invoke_without_command=True)
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
