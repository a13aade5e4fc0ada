"""`ertui host …` and `ertui admin …`: the master host name and the sender (address, From name, Reply-To)."""

from __future__ import annotations

import click

from ertui import settings
from ertui.cli.common import engine, print_json
from ertui.errors import ValidationError
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
    store = engine(ctx)
    user = settings.admin_user(store)
    from_name, reply_to = settings.sender_identity(store)
    if as_json:
        print_json(
            {"username": user.username, "email": user.email, "from_name": from_name or None, "reply_to": reply_to}
        )
        return
    name = terminal_safe(user.username)
    click.echo(f"{name} <{terminal_safe(user.email)}>" if user.email else f"{name} (no email address)")
    click.echo(f"From name: {terminal_safe(from_name)}" if from_name else "From name: (none: the bare address)")
    click.echo(f"Reply-To:  {terminal_safe(reply_to)}" if reply_to else "Reply-To:  (none)")
    if not user.email:
        click.echo("Warning: " + settings.NO_ADMIN_ADDRESS)


@admin_group.command("set-email")
@click.argument("address")
@click.pass_context
def admin_set_email(ctx: click.Context, address: str) -> None:
    """Set the administrator's email address (the sender of every email)."""
    value = settings.set_admin_email(engine(ctx), address)
    click.echo(f"Administrator email address: {value}")


@admin_group.command("set-name")
@click.argument("text")
@click.pass_context
def admin_set_name(ctx: click.Context, text: str) -> None:
    """Set the From display name of every email ("" for none: the bare address)."""
    value = settings.set_from_name(engine(ctx), text)
    click.echo(f"From name: {terminal_safe(value)}" if value else "From name cleared: mail is from the bare address.")


@admin_group.command("set-reply-to")
@click.argument("address", required=False)
@click.option("--none", "clear", is_flag=True, help="No Reply-To header.")
@click.pass_context
def admin_set_reply_to(ctx: click.Context, address: str | None, clear: bool) -> None:
    """Set the Reply-To address of every email, or --none to send without one."""
    if (address is None) == (not clear):
        raise ValidationError(settings.REPLY_TO, "Give a Reply-To ADDRESS or --none, not both or neither.")
    value = settings.set_reply_to(engine(ctx), None if clear else address)
    click.echo(f"Reply-To: {terminal_safe(value)}" if value else "Reply-To cleared.")


def register(cli: click.Group) -> None:
    for group in (host_group, admin_group):
        if group.name not in cli.commands:
            cli.add_command(group)
