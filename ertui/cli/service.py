"""`ertui service unit` (the systemd unit of the worker) and `ertui retention` (how long old mail is kept)."""

from __future__ import annotations

import click

from ertui.cli.common import Obj, engine, print_json


@click.group("service")
def service_grp() -> None:
    """Run the worker as a supervised service."""


@service_grp.command("unit")
@click.option("--user", "user_unit", is_flag=True, help="A user unit (systemctl --user) instead of a system one.")
@click.option("--db", "db_url", metavar="URL", default=None, help="The store the worker uses (default: ertui's).")
@click.pass_context
def unit_cmd(ctx: click.Context, user_unit: bool, db_url: str | None) -> None:
    """Print a systemd unit for `ertui worker` (Type=notify, watchdog, hardening).

    Install: ertui service unit > /etc/systemd/system/ertui-worker.service &&
    systemctl enable --now ertui-worker
    """
    from ertui.service.unit import render

    obj = ctx.find_object(Obj)
    click.echo(render(db_url or (obj.db_url if obj else None), user_unit=user_unit), nl=False)


@click.group("retention", invoke_without_command=True)
@click.pass_context
def retention_grp(ctx: click.Context) -> None:
    """How long the worker keeps sent and failed messages (it purges hourly)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(show_cmd)


def _show(keep_sent: object, keep_failed: object, as_json: bool) -> None:
    from datetime import timedelta

    from ertui.service.ages import format_age

    assert isinstance(keep_sent, timedelta) and isinstance(keep_failed, timedelta)
    if as_json:
        print_json({"keep_sent_seconds": keep_sent.total_seconds(), "keep_failed_seconds": keep_failed.total_seconds()})
    else:
        click.echo(f"Keep sent:   {format_age(keep_sent)}\nKeep failed: {format_age(keep_failed)}")


@retention_grp.command("show")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show_cmd(ctx: click.Context, as_json: bool = False) -> None:
    """Show the retention settings."""
    from ertui.service import retention

    r = retention.get(engine(ctx))
    _show(r.keep_sent, r.keep_failed, as_json)


@retention_grp.command("set")
@click.option("--keep-sent", metavar="AGE", default=None, help="Keep sent messages this long (default 30d).")
@click.option("--keep-failed", metavar="AGE", default=None, help="Keep failed messages this long (default 90d).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def set_cmd(ctx: click.Context, keep_sent: str | None, keep_failed: str | None, as_json: bool) -> None:
    """Change how long sent and failed messages are kept (at least 1h)."""
    from ertui.errors import Field, ValidationError
    from ertui.service import retention
    from ertui.service.ages import parse_age

    if keep_sent is None and keep_failed is None:
        raise ValidationError(Field.of("--keep-sent"), "Give --keep-sent AGE, --keep-failed AGE or both.")
    sent = parse_age(keep_sent, retention.KEEP_SENT) if keep_sent is not None else None
    failed = parse_age(keep_failed, retention.KEEP_FAILED) if keep_failed is not None else None
    r = retention.set_retention(engine(ctx), sent, failed)
    _show(r.keep_sent, r.keep_failed, as_json)


def register(cli: click.Group) -> None:
    cli.add_command(service_grp)
    cli.add_command(retention_grp)
