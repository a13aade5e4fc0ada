"""`ertui user …`: accounts and password recovery."""

from __future__ import annotations

import sys

import click

from ertui import recovery, users, validate
from ertui.cli.common import confirm, engine, print_json, read_secret, read_stdin_line
from ertui.errors import Field, ValidationError
from ertui.termsafe import terminal_safe

TOKEN_FIELD = Field("token", "Token")


@click.group("user")
def user_group() -> None:
    """User accounts and password recovery."""


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the users."""
    rows = users.list_users(engine(ctx))
    if as_json:
        print_json([users.to_dict(u) for u in rows])
        return
    for u in rows:
        role = " (default administrator)" if u.is_default_admin else ""
        click.echo(f"{terminal_safe(u.username):<24} {terminal_safe(u.email or '—')}{role}")


def _new_password(from_stdin: bool, required: bool) -> str | None:
    if from_stdin:
        return read_secret(True)
    if sys.stdin.isatty():
        first = click.prompt("New password", hide_input=True, default="", show_default=False)
        if not first and not required:
            return None
        again = click.prompt("Repeat it", hide_input=True, default="", show_default=False)
        if first != again:
            raise ValidationError(validate.PASSWORD, "The two passwords do not match.")
        return validate.secret(str(first))
    if required:
        raise ValidationError(validate.PASSWORD, "Password is required: use --password-stdin or a terminal.")
    return None


@user_group.command("add")
@click.argument("username")
@click.option("--email", default=None, help="The user's email address (needed for recovery).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.pass_context
def add_cmd(ctx: click.Context, username: str, email: str | None, password_stdin: bool) -> None:
    """Add a user (password from a prompt or --password-stdin)."""
    validate.account_name(username)
    password = _new_password(password_stdin, required=False)
    u = users.add_user(engine(ctx), username, email=email, password=password)
    click.echo(f"Added user {u.username!r}{' <' + u.email + '>' if u.email else ''}.")


@user_group.command("set-email")
@click.argument("username")
@click.argument("address")
@click.pass_context
def set_email_cmd(ctx: click.Context, username: str, address: str) -> None:
    """Set a user's email address."""
    u = users.set_email(engine(ctx), username, address)
    click.echo(f"User {u.username!r}: {u.email}")


@user_group.command("remove")
@click.argument("username")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def remove_cmd(ctx: click.Context, username: str, yes: bool) -> None:
    """Remove a user (never the default administrator)."""
    eng = engine(ctx)
    u = users.get_user(eng, username)
    if u.is_default_admin:
        users.remove_user(eng, username)  # raises the sentence
    if not yes:
        confirm(f"Remove user {u.username!r}?", f"remove user {u.username!r}")
    users.remove_user(eng, username)
    click.echo(f"Removed user {u.username!r}.")


@user_group.command("recover")
@click.argument("username")
@click.pass_context
def recover_cmd(ctx: click.Context, username: str) -> None:
    """Enqueue a password-recovery email for USERNAME."""
    req = recovery.request_recovery(engine(ctx), username)
    click.echo(
        f"Queued password-recovery email {req.message_id} to {req.email}; "
        f"the link uses {req.link_host} and expires at {req.expires_at:%Y-%m-%d %H:%M} UTC."
    )


@user_group.command("reset-password")
@click.argument("username")
@click.option("--token", default=None, hidden=True)  # refused: a secret in argv (see below)
@click.option("--token-stdin", is_flag=True, help="Read the token from stdin (first line); without it, a prompt.")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin (after the token, if any).")
@click.pass_context
def reset_cmd(ctx: click.Context, username: str, token: str | None, token_stdin: bool, password_stdin: bool) -> None:
    """Set a new password with the token from a recovery email (read from
    stdin or a prompt that does not echo: never from the command line)."""
    if token is not None:
        raise ValidationError(
            TOKEN_FIELD,
            "Token is a secret and --token would show it to every user of this host (ps): "
            "give it with --token-stdin, or at the prompt.",
        )
    if token_stdin or not sys.stdin.isatty():
        if not token_stdin:
            raise ValidationError(TOKEN_FIELD, "Token is required: give it on stdin with --token-stdin.")
        token = read_stdin_line(TOKEN_FIELD, "--token-stdin").strip()
    else:
        token = str(click.prompt("Token", hide_input=True, default="", show_default=False)).strip()
    if not token:
        raise ValidationError(TOKEN_FIELD, "Token is empty: nothing was read.")
    assert token is not None
    validate.secret(token, TOKEN_FIELD)
    password = _new_password(password_stdin, required=True)
    assert password is not None
    recovery.reset_password(engine(ctx), username, token, password)
    click.echo(f"Password of {username!r} changed.")


def register(cli: click.Group) -> None:
    cli.add_command(user_group)
