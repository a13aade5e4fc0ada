"""`ertui audit`: the log of every settings change (append-only; kept a year)."""

from __future__ import annotations

import click

from ertui.cli.common import engine, print_json


@click.command("audit")
@click.option("--since", metavar="AGE", default=None, help="Only the last span of time, e.g. 1h, 7d.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (exact text).")
@click.pass_context
def audit_cmd(ctx: click.Context, since: str | None, as_json: bool) -> None:
    """Show who changed which setting, when and from where (newest first)."""
    from ertui import audit
    from ertui.service.ages import parse_age
    from ertui.termsafe import terminal_safe
    from ertui.timeutil import as_utc

    age = parse_age(since, "--since") if since is not None else None
    rows = audit.entries(engine(ctx), since=age)
    if as_json:
        print_json([audit.to_dict(e) for e in rows])
        return
    if not rows:
        click.echo("No settings change recorded" + (f" in the last {since}." if since else "."))
        return
    for e in rows:
        when = as_utc(e.at).strftime("%Y-%m-%d %H:%M:%SZ")
        who = e.os_user + (f"@{e.ssh_client}" if e.ssh_client else "")
        line = f"{when}  {who}  {e.front_end}  {e.action}  {e.detail}"
        click.echo(terminal_safe(line))


def register(cli: click.Group) -> None:
    cli.add_command(audit_cmd)
