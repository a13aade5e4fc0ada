"""`ertui mta probe`: check a relay without mailing anyone — connect, TLS,
EHLO and AUTH through one MTA (saved, or unsaved with --host), then QUIT."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import click

from ertui import mtas, validate
from ertui.cli.common import engine, not_empty, print_json
from ertui.cli.mta_options import ConnectionFields, SessionFields, connection_options, session_options
from ertui.cli.mta_test import _as_dict, _config, print_step, print_unreached
from ertui.termsafe import terminal_safe


@click.command("probe")
@click.argument("mta", required=False)
@click.option("--host", default=None, help="Probe unsaved settings: host name or IP address.")
@connection_options
@session_options()
@click.option("--transcript", "show_transcript", is_flag=True, help="Print the SMTP dialogue.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--timeout", default=None, metavar="SECONDS", callback=not_empty, help="One deadline per step (1-300 s).")
@click.pass_context
def probe_cmd(
    ctx: click.Context,
    mta: str | None,
    host: str | None,
    conn: ConnectionFields,
    session: SessionFields,
    show_transcript: bool,
    as_json: bool,
    timeout: str | None,
) -> None:
    """Connect, TLS, EHLO and AUTH through one MTA, then QUIT: no mail is sent.

    Exit 0 when the MTA answered (and accepted the login), 1 when it did not,
    2 for bad input.
    """
    config = _config(ctx, mta, host, conn, session)
    if timeout is not None:
        config = replace(config, timeout=validate.mta_timeout(timeout))  # the saved field's rule
    result = asyncio.run(mtas.run_probe(engine(ctx), config, None if as_json else print_step))
    if as_json:
        print_json(_as_dict(result))
    else:
        print_unreached(config, result, sends=False)
        if show_transcript:
            for line in result.transcript:
                click.echo(terminal_safe(line))
            click.echo("")
        o = result.outcome
        if o.ok:
            click.echo(
                f"{config.label} answered{' and accepted the login' if config.use_auth else ''}; no mail was sent."
            )
        else:
            click.echo(terminal_safe(f"Probe failed: {o.summary}"))
            if o.hint:
                click.echo(terminal_safe(f"Hint: {o.hint}"))
    ctx.exit(0 if result.outcome.ok else 1)


def register(cli: click.Group) -> None:
    group = cli.commands["mta"]
    assert isinstance(group, click.Group)
    group.add_command(probe_cmd)
