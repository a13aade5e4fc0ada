"""`ertui queue shape`: where mail waits and since when (Postfix's qshape)."""

from __future__ import annotations

import click

from ertui import queue_shape
from ertui.cli.common import engine, print_json
from ertui.termsafe import terminal_safe

KEY_WIDTH = 32


@click.command("shape")
@click.option(
    "--by",
    type=click.Choice(queue_shape.BY_CHOICES),
    default="domain",
    show_default=True,
    help="Rows: the recipient's domain, or the MTA last tried.",
)
@click.option(
    "--status",
    type=click.Choice(queue_shape.STATUS_CHOICES),
    default="unsent",
    show_default=True,
    help="Which messages: unsent (waiting, sending, deferred, held, failed), or one status.",
)
@click.option("--top", type=click.IntRange(min=1), default=None, help="Only the N largest rows (TOTAL counts all).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def shape_cmd(ctx: click.Context, by: str, status: str, top: int | None, as_json: bool) -> None:
    """Messages per recipient domain (or MTA) and age since queued, in minutes."""
    result = queue_shape.shape(engine(ctx), by=by, status=status, top=top)
    if as_json:
        print_json(result.to_dict())
        return
    widths = [max(len(b), 5) for b in ("total", *queue_shape.BUCKETS)]
    header = f"{by:<{KEY_WIDTH}}" + "".join(
        f" {name:>{w}}" for name, w in zip(("total", *queue_shape.BUCKETS), widths, strict=True)
    )
    click.echo(header)
    for row in (result.total, *result.rows):
        key = terminal_safe(row.key)
        if len(key) > KEY_WIDTH:
            key = key[: KEY_WIDTH - 1] + "…"
        cells = (row.total, *row.counts)
        click.echo(f"{key:<{KEY_WIDTH}}" + "".join(f" {n:>{w}}" for n, w in zip(cells, widths, strict=True)))


def register(cli: click.Group) -> None:
    group = cli.commands["queue"]
    assert isinstance(group, click.Group)
    group.add_command(shape_cmd)
