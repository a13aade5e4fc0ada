"""`ertui metrics`: the Prometheus exposition text once (node_exporter's textfile collector, cron)."""

from __future__ import annotations

import sys

import click

from ertui.cli.common import engine


@click.command("metrics")
@click.pass_context
def metrics_cmd(ctx: click.Context) -> None:
    """Print the store's metrics once, in Prometheus' text format.

    The queue, the MTAs' health and the newest worker heartbeat; a running
    worker serves these and its own delivery counters with --metrics-port.
    """
    from ertui.service.metrics import Metrics
    from ertui.termsafe import terminal_safe

    text = Metrics(engine(ctx)).exposition().decode("utf-8")
    if sys.stdout.isatty():  # MTA descriptions in labels: shown safely; a file or a pipe gets the exact text
        text = terminal_safe(text, keep_newlines=True)
    click.echo(text, nl=False)


def register(cli: click.Group) -> None:
    cli.add_command(metrics_cmd)
