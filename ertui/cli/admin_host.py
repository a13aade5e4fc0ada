"""`ertui host …` and `ertui admin …`: the master host name and the sender address."""

from __future__ import annotations

import click

from ertui import settings
from ertui.cli.common import engine, print_json
from ertui.termsafe import terminal_safe


@click.group("host")
def host_group() -> None:
    """Master Server Host Name for Email Links."""


@host_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def host_show(ctx: click.Context, as_json: bool) -> None:
    """Show the host name used in password-recovery links."""
    h = settings.master_host(engine(ctx))
    if as_json:
        print_json({"host_name": h.name, "is_default": h.is_default, "valid": h.valid, "problem": h.problem})
        return
    origin = " (default: this host's FQDN)" if h.is_default else ""
    click.echo(f"{terminal_safe(h.name)}{origin}")
    if h.problem:
        click.echo(f"Warning: {h.problem} Set one with `ertui host set FQDN`.")


@host_group.command("set")
@click.argument("fqdn")
@click.pass_context
def host_set(ctx: click.Context, fqdn: str) -> None:
    """Set the fully qualified domain name used in email links."""
    name = settings.set_master_host(engine(ctx), fqdn)
    click.echo(f"Master server host name for email links: {name}")


@click.group("admin")
def admin_group() -> None:
    """The default administrator account, the sender of every email."""


@admin_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def admin_show(ctx: click.Context, as_json: bool) -> None:
    """Show the administrator account."""
    user = settings.admin_user(engine(ctx))
    if as_json:
        print_json({"username": user.username, "email": user.email})
        return
    name = terminal_safe(user.username)
    click.echo(f"{name} <{terminal_safe(user.email)}>" if user.email else f"{name} (no email address)")
    if not user.email:
        click.echo("Warning: " + settings.NO_ADMIN_ADDRESS)


@admin_group.command("set-email")
@click.argument("address")
@click.pass_context
def admin_set_email(ctx: click.Context, address: str) -> None:
    """Set the administrator's email address (the sender of every email)."""
    value = settings.set_admin_email(engine(ctx), address)
    click.echo(f"Administrator email address: {value}")


def register(cli: click.Group) -> None:
    for group in (host_group, admin_group):
        if group.name not in cli.commands:
            cli.add_command(group)
