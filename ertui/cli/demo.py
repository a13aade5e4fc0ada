"""`ertui demo`: the console on a demo store with an embedded SMTP sink."""

from __future__ import annotations

import click

from ertui.cli.common import Obj, fail


@click.command("demo")
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    default=None,
    help="Use this store instead of a fresh temporary one (its demo MTAs are added or updated).",
)
@click.option(
    "--messages",
    type=click.IntRange(0, 10_000),
    default=36,
    show_default=True,
    help="How many sample messages to queue.",
)
@click.pass_context
def demo_cmd(ctx: click.Context, db_url: str | None, messages: int) -> None:
    """Open the console on a demo: an SMTP sink on 127.0.0.1, a healthy and a
    broken MTA (failover), an administrator address and queued mail that the
    worker delivers while you watch."""
    from ertui.demo import demo_environment

    obj = ctx.find_object(Obj)
    url = db_url or (obj.db_url if obj is not None else None)
    try:
        from ertui.tui.app import run
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("ertui.tui"):
            fail("the console is not built yet.")
        raise
    with demo_environment(url, messages=messages) as demo:
        sink = demo.sink
        run(demo.engine, status_extra=lambda: f"Demo sink received {sink.received} messages")


def register(cli: click.Group) -> None:
    cli.add_command(demo_cmd)
