"""`ertui check`: a monitoring plugin (Nagios/Icinga contract; exit codes are that contract's)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from ertui.cli.common import Obj
from ertui.errors import ErtuiError


def _finish(code: int, line: str) -> NoReturn:
    click.echo(line)
    sys.exit(code)


@click.command("check")
@click.option(
    "--warn-age", default="15m", show_default=True, metavar="AGE", help="WARNING when the oldest unsent is older."
)
@click.option(
    "--crit-age", default="1h", show_default=True, metavar="AGE", help="CRITICAL when the oldest unsent is older."
)
@click.option(
    "--warn-failed", default="1", show_default=True, metavar="N", help="WARNING at N failed in the last 24 h."
)
@click.option(
    "--crit-failed", default="10", show_default=True, metavar="N", help="CRITICAL at N failed in the last 24 h."
)
@click.option("--crit-no-worker", is_flag=True, help="CRITICAL when no worker sent a heartbeat in 2 minutes.")
@click.pass_context
def check_cmd(
    ctx: click.Context, warn_age: str, crit_age: str, warn_failed: str, crit_failed: str, crit_no_worker: bool
) -> None:
    """Check the mail queue for a monitoring system; one line with perfdata.

    Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the store unreadable or an
    option wrong): the Nagios plugin contract, not ertui's usual exit codes.
    No enabled MTA is CRITICAL; an MTA down is WARNING.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from ertui.config import resolve_db_url
    from ertui.service import check, snapshot
    from ertui.service.ages import parse_age
    from ertui.termsafe import terminal_safe

    try:
        th = check.Thresholds(
            warn_age=parse_age(warn_age, "--warn-age"),
            crit_age=parse_age(crit_age, "--crit-age"),
            warn_failed=_count(warn_failed, "--warn-failed"),
            crit_failed=_count(crit_failed, "--crit-failed"),
            crit_no_worker=crit_no_worker,
        )
        check.consistent(th)
    except ErtuiError as exc:
        _finish(*check.unknown(terminal_safe(str(exc))))
    obj = ctx.find_object(Obj)
    assert obj is not None
    try:
        url = resolve_db_url(obj.db_url)
        u = make_url(url)
        sqlite_file = u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:"
        if sqlite_file and not Path(str(u.database)).is_file():  # never create a store to check it
            _finish(*check.unknown(terminal_safe(f"store unreadable: no store file at {u.database}")))
        state, line = check.evaluate(snapshot.take(obj.engine), th)
    except ErtuiError as exc:
        _finish(*check.unknown(terminal_safe(f"store unreadable: {exc}")))
    except (SQLAlchemyError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        _finish(*check.unknown(terminal_safe(f"store unreadable: {reason}")))
    _finish(int(state), terminal_safe(line))


def _count(text: str, name: str) -> int:
    from ertui import validate
    from ertui.errors import Field, ValidationError

    number = validate.digits(text)  # ASCII digits only: int('²') raises
    if number is None or number > 10**9:
        raise ValidationError(Field.of(name), f"{name} must be a whole number from 0 to 1000000000.")
    return number


def register(cli: click.Group) -> None:
    cli.add_command(check_cmd)
