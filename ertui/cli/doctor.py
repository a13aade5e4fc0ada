"""`ertui doctor`: why is mail not going out? A checklist with a fix for each failure."""

from __future__ import annotations

import asyncio

import click

from ertui import doctor
from ertui.cli.common import Obj, print_json
from ertui.termsafe import terminal_safe


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help='{"ok": bool, "checks": [{"name", "ok", "detail", "fix"}]}')
@click.pass_context
def doctor_cmd(ctx: click.Context, as_json: bool) -> None:
    """Check the store, the key, the sender, the host name, the MTAs (probed,
    no mail sent), the worker and the queue, in that order.

    Exit 0 when every check passes, 1 otherwise.
    """
    obj = ctx.find_object(Obj)
    assert obj is not None

    def show(check: doctor.Check) -> None:
        if as_json:
            return
        mark = "✓" if check.ok else "✗"
        click.echo(terminal_safe(f"{mark} {check.name}: {check.detail}"))
        if not check.ok and check.fix:
            click.echo(terminal_safe(f"    fix: {check.fix}"))

    report = asyncio.run(doctor.run(lambda: obj.engine, show))
    if as_json:
        print_json(report.to_dict())
    ctx.exit(0 if report.ok else 1)


def register(cli: click.Group) -> None:
    cli.add_command(doctor_cmd)
