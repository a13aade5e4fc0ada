"""The filter options of `queue retry|hold|release|delete`: act on every message
that matches, instead of on ids (``ertui.queue_bulk``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ertui import queue_bulk
from ertui.cli.common import confirm, engine, print_json
from ertui.errors import Field, ValidationError
from ertui.termsafe import terminal_safe

F = TypeVar("F", bound=Callable[..., Any])
FILTER_KEYS = ("status", "domain", "mta", "older_than", "search")
IDS_FIELD = Field("ids", "ID")


def filter_options(fn: F) -> F:
    """``--status --domain --mta --older-than --search --dry-run --json`` on a command."""
    for option in reversed(
        [
            click.option("--status", "status", type=click.Choice(queue_bulk.STATUS_CHOICES), default=None,
                         help="Filter: messages in this status."),
            click.option("--domain", default=None, metavar="DOMAIN",
                         help="Filter: recipient domain (exact, any case)."),
            click.option("--mta", default=None, metavar="MTA", help="Filter: the MTA last tried (id or description)."),
            click.option("--older-than", "older_than", default=None, metavar="AGE",
                         help="Filter: queued more than AGE ago (30m, 2h, 3d)."),
            click.option("--search", default=None, metavar="TEXT",
                         help="Filter: text in the receiver or subject, or an id (#13)."),
            click.option("--dry-run", is_flag=True, help="With a filter: say how many would change, change nothing."),
            click.option("--json", "as_json", is_flag=True, help="With a filter: print the counts as JSON."),
        ]
    ):  # fmt: skip
        fn = option(fn)
    return fn


def by_filter(
    ctx: click.Context, action: str, ids: tuple[int, ...], options: dict[str, Any], *, yes: bool = True
) -> bool:
    """Run ``action`` on every message the filter options name; False when no
    filter was given (the command then works on its ids)."""
    given = {k: options.get(k) for k in FILTER_KEYS if options.get(k) is not None}
    dry_run, as_json = bool(options.get("dry_run")), bool(options.get("as_json"))
    if not given:
        if dry_run or as_json:
            raise ValidationError(IDS_FIELD, "--dry-run and --json go with a filter (--status, --domain, …).")
        return False
    if ids:
        raise ValidationError(IDS_FIELD, "Give message ids or a filter, not both.")
    flt = queue_bulk.make_filter(**given)
    eng = engine(ctx)
    if not yes and not dry_run:
        would = queue_bulk.apply(eng, action, flt, dry_run=True)
        if would.changed:
            confirm(f"Delete {would.changed} message(s) matching {terminal_safe(flt.describe())}?", "delete",
                    "nothing deleted.")  # fmt: skip
    result = queue_bulk.apply(eng, action, flt, dry_run=dry_run)
    if as_json:
        print_json(queue_bulk.to_dict(result))
    else:
        click.echo(result.sentence())
    return True
