"""`ertui demo`: the console on a demo store with an embedded SMTP sink."""

from __future__ import annotations

import signal
from types import FrameType

import click

from ertui.cli.common import Obj, not_empty


def _exit_on_hangup() -> None:
    """A closed terminal (SIGHUP) or a kill (SIGTERM) leaves through the ``with``
    below, so the sink stops and the temporary store is removed."""

    def leave(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, leave)


@click.command("demo")
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    default=None,
    callback=not_empty,
    help="Use this store instead of a fresh temporary one (its demo MTAs are added or updated).",
)
@click.option(
    "--messages",
    type=click.IntRange(0, 10_000),
    default=36,
    show_default=True,
    help="How many sample messages to queue.",
)
@click.option(
    "--sink-delay",
    type=click.FloatRange(0, 10),
    default=0.3,
    show_default=True,
    help="Seconds the sink takes per message, so deliveries can be watched.",
)
@click.option(
    "--trickle",
    type=click.FloatRange(0, 3600),
    default=4.0,
    show_default=True,
    help="Queue one more message every so many seconds (0: off).",
)
@click.pass_context
def demo_cmd(ctx: click.Context, db_url: str | None, messages: int, sink_delay: float, trickle: float) -> None:
    """Open the console on a demo: an SMTP sink on 127.0.0.1, a healthy and a
    broken MTA (failover), an administrator address and queued mail that the
    worker delivers while you watch."""
    from ertui.demo import demo_environment
    from ertui.tui.app import run

    obj = ctx.find_object(Obj)
    url = db_url or (obj.db_url if obj is not None else None)
    _exit_on_hangup()
    with demo_environment(url, messages=messages, sink_delay=sink_delay, trickle_every=trickle) as demo:
        sink = demo.sink
        run(demo.engine, status_extra=lambda: f"Demo sink received {sink.received} messages")


def register(cli: click.Group) -> None:
    cli.add_command(demo_cmd)
