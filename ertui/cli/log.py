"""`ertui log`: one line per delivery attempt, from every worker on the store."""

from __future__ import annotations

import json
import time

import click

from ertui import delivery_log
from ertui.cli.common import engine
from ertui.termsafe import terminal_safe
from ertui.timeutil import as_utc


def format_line(line: delivery_log.LogLine) -> str:
    """``2026-12-02T10:15:03Z  #1234  relay1  user@example.com  sent 250 2.0.0 Ok  (183 ms)``."""
    stamp = as_utc(line.at).strftime("%Y-%m-%dT%H:%M:%SZ")
    reply = " ".join(part for part in (line.outcome, str(line.code or ""), line.text) if part)
    text = f"{stamp}  #{line.message_id}  {line.mta}  {line.recipient}  {reply}  ({line.duration_ms} ms)"
    return terminal_safe(text)


@click.command("log")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new attempts as they happen, until Ctrl-C.")
@click.option("--mta", metavar="MTA", default=None, help="Only attempts through this MTA (id or description).")
@click.option("--domain", metavar="DOMAIN", default=None, help="Only attempts to this recipient domain.")
@click.option("--failed", is_flag=True, help="Only attempts that did not deliver (deferred, failed, MTA errors).")
@click.option("--since", metavar="AGE", default=None, help="Only attempts in the last AGE (90s, 30m, 2h, 3d).")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="Without --since: how many of the newest attempts to show first.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (exact text).")
@click.pass_context
def log_cmd(
    ctx: click.Context,
    follow: bool,
    mta: str | None,
    domain: str | None,
    failed: bool,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Delivery attempts of every worker on the store, oldest first."""
    eng = engine(ctx)
    flt = delivery_log.make_filter(mta=mta, domain=domain, failed=failed, since=since)
    after = delivery_log.tail_start(eng, flt, limit)
    try:
        while True:
            lines = delivery_log.read(eng, flt, after_id=after)
            for line in lines:
                click.echo(json.dumps(line.to_dict(), ensure_ascii=False) if as_json else format_line(line))
                after = line.id
            if not follow:
                if len(lines) < 1000:
                    return
                continue
            if len(lines) < 1000:
                time.sleep(delivery_log.POLL_SECONDS)
    except KeyboardInterrupt:
        return


def register(cli: click.Group) -> None:
    cli.add_command(log_cmd)
