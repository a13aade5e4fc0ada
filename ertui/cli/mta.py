"""`ertui mta …`: list, add, edit, remove, enable, disable."""

from __future__ import annotations

import click

from ertui import mtas, validate
from ertui.cli.common import confirm, engine, not_empty, print_json, read_secret
from ertui.cli.mta_options import (
    ConnectionFields,
    SessionFields,
    connection_options,
    read_password,
    relay_options,
    secret_label,
)
from ertui.errors import ValidationError
from ertui.mta_rules import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TIMEOUT,
    AuthMechanism,
    Security,
    host_port,
    security_change,
)
from ertui.store.models import Mta
from ertui.termsafe import terminal_safe


@click.group("mta")
def mta_group() -> None:
    """Message Transfer Agents: the servers mail is relayed through."""


@mta_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the MTAs."""
    rows = mtas.list_mtas(engine(ctx))
    if as_json:
        print_json([mtas.to_dict(m) for m in rows])
        return
    if not rows:
        click.echo("No MTA yet: add one with `ertui mta add --description TEXT --host HOST`.")
        return
    head = f"{'ID':>3}  {'DESCRIPTION':<20} {'HOST':<28} {'PORT':>5}  {'SECURITY':<8}  "
    click.echo(head + f"{'AUTH':<14} {'MAX':>3}  STATE")
    for m in rows:
        auth = terminal_safe(m.username) if m.use_auth and m.username else "—"
        state = "Enabled" if m.enabled else "Disabled"
        desc, host = terminal_safe(m.description), terminal_safe(m.host)
        click.echo(
            f"{m.id:>3}  {desc[:20]:<20} {host[:28]:<28} {m.port:>5}  "
            f"{Security(m.security).label:<8}  {auth[:14]:<14} {m.max_connections:>3}  {state}"
        )


@mta_group.command("add")
@click.option("--description", required=True, help="A name for this MTA (unique).")
@click.option("--host", required=True, help="Host name or IP address of the MTA.")
@connection_options
@click.option(
    "--max-connections", type=str, default=str(DEFAULT_MAX_CONNECTIONS), show_default=True, callback=not_empty
)
@click.option("--disabled", is_flag=True, help="Add it disabled.")
@relay_options(edit=False)
@click.pass_context
def add_cmd(
    ctx: click.Context,
    description: str,
    host: str,
    conn: ConnectionFields,
    max_connections: str,
    disabled: bool,
    timeout: str | None,
    rate_limit: str | None,
    session: SessionFields,
) -> None:
    """Add an MTA."""
    mechanism = session.login(conn.username)  # (before a prompt)
    m = mtas.add(
        engine(ctx),
        description=description,
        host=host,
        port=conn.port,
        security=conn.security,
        username=conn.username,
        password=read_password(conn.username, conn.password_stdin, mechanism),
        max_connections=max_connections,
        enabled=not disabled,
        verify_tls=not conn.no_verify_tls,
        timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
        rate_limit=rate_limit if rate_limit is not None else 0,
        **session.values(),
    )
    click.echo(f"Added MTA {m.id} {m.description!r}: {host_port(m.host, m.port)} {Security(m.security).label}.")
    warn_cleartext(m)


@mta_group.command("edit")
@click.argument("mta")
@click.option("--description", default=None)
@click.option("--host", default=None)
@click.option("--port", type=str, default=None, callback=not_empty)
@click.option("--ssl/--no-ssl", default=None)
@click.option("--starttls/--no-starttls", default=None)
@click.option("--username", default=None)
@click.option("--password-stdin", is_flag=True, help="Read a new password from stdin.")
@click.option("--no-auth", is_flag=True, help="Turn User/Pass Authorization off.")
@click.option("--max-connections", type=str, default=None, callback=not_empty)
@click.option("--enabled/--disabled", default=None)
@click.option("--verify-tls/--no-verify-tls", default=None)
@relay_options(edit=True)
@click.pass_context
def edit_cmd(
    ctx: click.Context,
    mta: str,
    description: str | None,
    host: str | None,
    port: str | None,
    ssl: bool | None,
    starttls: bool | None,
    username: str | None,
    password_stdin: bool,
    no_auth: bool,
    max_connections: str | None,
    enabled: bool | None,
    verify_tls: bool | None,
    timeout: str | None,
    rate_limit: str | None,
    session: SessionFields,
) -> None:
    """Edit an MTA (by id or description); what is left out stays as it is."""
    if no_auth and (username or password_stdin):
        raise ValidationError(validate.USERNAME, "--no-auth cannot be combined with --username or --password-stdin.")
    eng = engine(ctx)
    current = mtas.get(eng, mta)
    security = security_change(Security(current.security), ssl, starttls)
    mechanism = session.mechanism(current.auth_mechanism).value
    session.check_oauth(not no_auth and bool(username or current.use_auth), AuthMechanism(mechanism))
    becomes_oauth = mechanism == AuthMechanism.XOAUTH2.value and current.oauth_secret_enc is None
    ask = (
        password_stdin
        or (username and not current.use_auth)
        or (becomes_oauth and not no_auth and bool(username or current.use_auth))
    )
    prompt, field = secret_label(mechanism)
    password = read_secret(password_stdin, prompt, field) if ask else None
    m = mtas.edit(
        eng,
        current.id or mta,
        description=description,
        host=host,
        port=port,
        security=security,
        use_auth=False if no_auth else None,
        username=username,
        password=password,
        max_connections=max_connections,
        enabled=enabled,
        verify_tls=verify_tls,
        timeout=timeout,
        rate_limit=rate_limit,
        **session.values(),
    )
    click.echo(f"Saved MTA {m.id} {m.description!r}: {host_port(m.host, m.port)} {Security(m.security).label}.")
    warn_cleartext(m)


def warn_cleartext(m: Mta) -> None:
    """Saved, but AUTH would go in clear text: say so on stderr (exit 0)."""
    warning = mtas.cleartext_auth_warning(m.security, m.use_auth, m.username)
    if warning:
        click.echo(f"ertui: warning: {warning}", err=True)


@mta_group.command("remove")
@click.argument("mta")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def remove_cmd(ctx: click.Context, mta: str, yes: bool) -> None:
    """Remove an MTA."""
    eng = engine(ctx)
    m = mtas.get(eng, mta)
    if not yes:
        confirm(f"Remove MTA {m.id} {m.description!r} ({host_port(m.host, m.port)})?", f"remove MTA {m.description!r}")
    mtas.remove(eng, m.id or mta)
    click.echo(f"Removed MTA {m.id} {m.description!r}.")


@mta_group.command("enable")
@click.argument("mta")
@click.pass_context
def enable_cmd(ctx: click.Context, mta: str) -> None:
    """Enable an MTA: the worker starts sending through it."""
    m = mtas.set_enabled(engine(ctx), mta, True)
    click.echo(f"Enabled MTA {m.id} {m.description!r}.")


@mta_group.command("disable")
@click.argument("mta")
@click.pass_context
def disable_cmd(ctx: click.Context, mta: str) -> None:
    """Disable an MTA: no new connection goes to it."""
    m = mtas.set_enabled(engine(ctx), mta, False)
    click.echo(f"Disabled MTA {m.id} {m.description!r}.")


def register(cli: click.Group) -> None:
    if "mta" not in cli.commands:
        cli.add_command(mta_group)
