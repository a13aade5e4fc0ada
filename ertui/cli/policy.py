"""`ertui policy show|set`: the delivery policy kept in the store (``ertui.delivery_policy``)."""

from __future__ import annotations

import click

from ertui import delivery_policy as dp
from ertui.cli.common import engine, print_json
from ertui.errors import Field, ValidationError
from ertui.service import retention
from ertui.service.ages import format_age
from ertui.termsafe import terminal_safe

SOURCES = {"default": "default", "store": "set in the store"}


@click.group("policy", invoke_without_command=True)
@click.pass_context
def policy_grp(ctx: click.Context) -> None:
    """Retry delays, message lifetime, attempts and MTA cooldown: kept in the
    store, picked up by running workers within 30 seconds."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(show_cmd)


def _show(ctx: click.Context, as_json: bool) -> None:
    store = engine(ctx)
    lines = dp.report(store)
    kept = retention.get(store)
    if as_json:
        print_json(dp.as_json(lines, kept))
        return
    stored = dp.stored(store)
    for line in lines:
        knob = line.knob
        if line.env_raw is None:
            source = SOURCES[line.source]
        else:
            raw = terminal_safe(line.env_raw)
            source = f"{knob.env}={raw} overrides the store ({knob.shown(stored.value(knob))}) in this environment"
        click.echo(f"{knob.label:<21} {knob.shown(line.value):<29} {source}")
    click.echo(
        f"\nA running worker rereads the policy within {int(dp.RELOAD_SECONDS)} seconds, without a restart;\n"
        "an environment variable above overrides the store in a process that has it.\n"
        "Queued mail: the lifetime counts for new mail only (a queued message keeps its expiry);\n"
        "the other settings apply to queued mail at its next attempt.\n"
        f"Retention (ertui retention): sent mail is kept {format_age(kept.keep_sent)}, "
        f"failed mail {format_age(kept.keep_failed)}."
    )


@policy_grp.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show_cmd(ctx: click.Context, as_json: bool = False) -> None:
    """Show the delivery policy, where each value comes from, and any override."""
    _show(ctx, as_json)


@policy_grp.command("set")
@click.option("--first-retry", metavar="AGE", help="Wait after the first temporary failure; doubles (default 1m).")
@click.option("--max-retry", metavar="AGE", help="The longest wait between attempts (default 1h).")
@click.option("--lifetime", metavar="AGE", help="Fail a message not delivered within this (default 5d; new mail).")
@click.option("--max-attempts", metavar="N", help="Fail after N attempts (default 0: until the lifetime ends).")
@click.option("--mta-cooldown", metavar="AGE", help="An MTA's rest after a failure; doubles (default 5s).")
@click.option("--json", "as_json", is_flag=True, help="Print the policy as JSON afterwards.")
@click.pass_context
def set_cmd(ctx: click.Context, /, as_json: bool, **given: str | None) -> None:
    """Change the delivery policy: AGE is 90s, 15m, 2h, 5d, 1w (a bare number is seconds)."""
    options = {name: text for name, text in given.items() if text is not None}
    if not options:
        names = ", ".join(k.option for k in dp.KNOBS)
        raise ValidationError(Field("policy", "--first-retry"), f"Give at least one of {names}.")
    changes = {name: dp.parse(dp.BY_NAME[name], text) for name, text in options.items()}
    dp.set_policy(engine(ctx), changes)
    _show(ctx, as_json)


def register(cli: click.Group) -> None:
    cli.add_command(policy_grp)
