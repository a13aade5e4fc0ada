"""`ertui send` and `ertui queue …`: enqueue mail and work the queue."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import click

from ertui import queue, queue_bulk, queue_json, render, validate
from ertui.cli.common import confirm, engine, fail, not_empty, print_json, read_file, read_stdin_all
from ertui.cli.queue_bulk import by_filter, filter_options
from ertui.errors import Field, ValidationError
from ertui.store import sealed
from ertui.store.models import MAX_ID, Message, MessageKind
from ertui.termsafe import terminal_safe
from ertui.timeutil import iso

# A message id (larger numbers name no row; said as bad input, not a store error).
ID = click.IntRange(1, MAX_ID)
IDS_FIELD = Field("ids", "ID")


TO_FIELD = Field("to", "To")
STDIN_TAKEN = "With --to-file -, stdin holds the recipients: give --body or --body-file."


def _listed(to_file: str) -> list[str]:
    """The addresses in ``--to-file`` (``-``: stdin), one a line; blank lines and # comments skipped."""
    text = read_stdin_all(TO_FIELD, "--to-file -") if to_file == "-" else read_file(to_file, TO_FIELD, "--to-file")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@click.command("send")
@click.option(
    "--to",
    "to",
    multiple=True,
    metavar="ADDRESS",
    help="A recipient (repeat for several: one message each).",
)
@click.option(
    "--to-file",
    default=None,
    metavar="FILE",
    callback=not_empty,
    help="Recipients from a file, one address a line (# comments and blank lines skipped); - for stdin.",
)
@click.option("--subject", required=True, help="The subject line.")
@click.option("--body", default=None, help="The body text (default: read from stdin).")
@click.option(
    "--body-file",
    default=None,
    metavar="PATH",
    callback=not_empty,
    help="Read the body (UTF-8) from this file.",
)
@click.pass_context
def send_cmd(
    ctx: click.Context, to: tuple[str, ...], to_file: str | None, subject: str, body: str | None, body_file: str | None
) -> None:
    """Queue an email to each recipient; prints the new message ids."""
    if body is not None and body_file is not None:
        raise ValidationError(validate.BODY, "--body and --body-file exclude each other.")
    if to_file == "-" and body is None and body_file is None:
        raise ValidationError(
            validate.BODY, "With --to-file -, stdin holds the recipients: give --body or --body-file."
        )
    recipients = list(to)
    if to_file is not None:
        recipients += _listed(to_file)
    if not recipients:
        raise ValidationError(TO_FIELD, "Give at least one recipient: --to ADDRESS or --to-file FILE.")
    if body_file is not None:
        text = read_file(body_file, validate.BODY, "--body-file")
    elif body is not None:
        text = body
    else:
        text = read_stdin_all(validate.BODY, "read from stdin")
    ids = queue.enqueue(engine(ctx), recipients, subject, text)
    click.echo("\n".join(str(i) for i in ids))


@click.group("queue")
def queue_group() -> None:
    """The mail queue: list, show, stats, retry, hold, release, delete, purge."""


def _age(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    secs = int(delta.total_seconds())
    if secs < 120:
        return f"{secs}s"
    if secs < 7200:
        return f"{secs // 60}m"
    if secs < 172800:
        return f"{secs // 3600}h"
    return f"{secs // 86400}d"


def _short(value: str | None, width: int) -> str:
    """One cell: text from outside made safe for the terminal, cut to ``width``."""
    text = terminal_safe(value or "")
    return text if len(text) <= width else text[: width - 1] + "…"


@queue_group.command("list")
@click.option("--status", default="unsent", show_default=True, type=click.Choice(queue.STATUS_CHOICES))
@click.option("--search", default=None, help="Match recipient, subject or id.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--offset", default=0, type=click.IntRange(0, MAX_ID))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_cmd(ctx: click.Context, status: str, search: str | None, limit: int, offset: int, as_json: bool) -> None:
    """List messages, newest first (default: every unsent message)."""
    eng = engine(ctx)
    rows = queue.list_messages(eng, status=status, search=search, limit=limit, offset=offset)
    names = queue.mta_names(eng)

    def mta(mid: int | None) -> str | None:
        return None if mid is None else names.get(mid)

    if as_json:
        print_json([queue_json.message_to_dict(m, mta(m.last_mta_id)) for m in rows])
        return
    if not rows:
        click.echo(f"No {status} messages." if status != "all" else "The queue is empty.")
        return
    click.echo(f"{'ID':>7}  {'STATUS':<8} {'TRIES':>5}  {'RECIPIENT':<28} {'SUBJECT':<24} LAST ERROR")
    for m in rows:
        click.echo(
            f"{m.id:>7}  {m.status:<8} {m.attempts:>5}  {_short(m.recipient, 28):<28} "
            f"{_short(m.subject, 24):<24} {_short(m.last_error, 60)}"
        )
    total = queue.count_messages(eng, status=status, search=search)
    if total > offset + len(rows):
        click.echo(f"… {total - offset - len(rows)} more (use --limit/--offset).")


@queue_group.command("show")
@click.argument("message_id", type=ID)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--raw", is_flag=True, help="Write the exact bytes the worker sends (headers and body, CRLF), only them.")
@click.option("--headers", is_flag=True, help="Write only the header block of those bytes.")
@click.option(
    "--reveal-secrets",
    is_flag=True,
    help="With --raw/--headers: a password-recovery email's live token, not its masked form.",
)
@click.pass_context
def show_cmd(
    ctx: click.Context, message_id: int, as_json: bool, raw: bool, headers: bool, reveal_secrets: bool
) -> None:
    """A message and its attempt log; --raw or --headers: its bytes."""
    if reveal_secrets and not (raw or headers):  # never the live bytes when the summary was asked for
        raise ValidationError(IDS_FIELD, "--reveal-secrets goes with --raw or --headers.")
    if raw and headers:  # one of them: the whole bytes, or their header block
        raise ValidationError(IDS_FIELD, "Give one of --raw (every byte) or --headers (the header block), not both.")
    eng = engine(ctx)
    m = queue.get_message(eng, message_id)
    if raw or headers:
        write_source(m, headers=headers, reveal=reveal_secrets, other=as_json)
        return
    names = queue.mta_names(eng)
    attempts = queue.attempts_for(eng, message_id)
    data = queue_json.message_to_dict(m, names.get(m.last_mta_id) if m.last_mta_id else None)
    if as_json:
        data["attempt_log"] = [queue_json.attempt_to_dict(a) for a in attempts]
        print_json(data)
        return
    for key in (
        "id",
        "status",
        "recipient",
        "sender",
        "subject",
        "kind",
        "attempts",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "expires_at",
        "sent_at",
        "mta",
        "last_error",
        "server_reply",
        "message_id",
    ):
        if data.get(key) is not None:
            click.echo(f"{key.replace('_', ' ').capitalize() + ':':<17} {terminal_safe(str(data[key]))}")
    click.echo("Attempt log:" if attempts else "Attempt log:      none yet")
    for a in attempts:
        code = f" {a.code}" if a.code is not None else ""
        click.echo(
            f"  {iso(a.started_at)}  {terminal_safe(a.mta_description or '—')}  {a.outcome}{code}  "
            f"{_short(a.text, 80)}  ({a.duration_ms} ms)"
        )


def write_source(m: Message, *, headers: bool, reveal: bool, other: bool) -> None:
    """``queue show --raw/--headers``: the bytes on stdout, nothing else."""
    if other:
        raise ValidationError(IDS_FIELD, "--raw and --headers write bytes: not with --json.")
    stored = bytes(m.raw)
    if reveal:
        if sealed.is_sealed(stored):
            click.echo("ertui: warning: this reveals a live password-reset token; keep it out of logs.", err=True)
        elif m.kind == MessageKind.PASSWORD_RECOVERY.value:
            click.echo("ertui: the token of this message is no longer kept (it was sent or failed).", err=True)
        data = sealed.reveal(stored)
    else:
        data = sealed.masked_raw(stored)
    if headers:
        data = render.header_block(data)
    out = sys.stdout.buffer
    out.write(data)
    out.flush()


@queue_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stats_cmd(ctx: click.Context, as_json: bool) -> None:
    """Counts per status, the oldest unsent message's age, and why nothing moves."""
    st = queue.stats(engine(ctx))
    if as_json:
        age = st.oldest_unsent_age
        print_json(
            {
                "counts": st.counts,
                "oldest_unsent_age_seconds": None if age is None else int(age.total_seconds()),
                "stalled_reason": st.stalled_reason,
                "workers": st.workers,
            }
        )
        return
    click.echo("  ".join(f"{k}: {v}" for k, v in st.counts.items()))
    click.echo(f"Oldest unsent: {_age(st.oldest_unsent_age)}   Workers running: {st.workers}")
    if st.stalled_reason:
        click.echo(f"Stalled: {terminal_safe(st.stalled_reason)}.")


def _ids(values: tuple[int, ...]) -> list[int]:
    if not values:
        raise ValidationError(IDS_FIELD, queue_bulk.NEEDS_IDS_OR_FILTER)
    return list(values)


@queue_group.command("retry")
@click.argument("ids", nargs=-1, type=ID)
@click.option("--all-failed", is_flag=True, help="Every failed message (short for --status failed).")
@filter_options
@click.pass_context
def retry_cmd(ctx: click.Context, /, ids: tuple[int, ...], all_failed: bool, **filters: Any) -> None:
    """Make messages due now (failed ones are queued again, with a new lifetime):
    the ids given, or every message a filter matches."""
    if all_failed and (ids or any(filters.values())):
        raise ValidationError(IDS_FIELD, "Give message ids, a filter or --all-failed, not two of them.")
    if by_filter(ctx, "retry", ids, filters):
        return
    eng = engine(ctx)
    if all_failed:
        click.echo(f"{queue.retry_all_failed(eng)} message(s) due now.")
        return
    wanted = _ids(ids)
    missing = queue.missing_ids(eng, wanted)
    _report(queue.retry(eng, wanted), len(wanted) - len(missing), "due now", f"the others are {queue.NOT_RETRIED}")
    _fail_missing(missing)


@queue_group.command("hold")
@click.argument("ids", nargs=-1, type=ID)
@filter_options
@click.pass_context
def hold_cmd(ctx: click.Context, /, ids: tuple[int, ...], **filters: Any) -> None:
    """Hold messages (the ids given, or every message a filter matches): the
    worker leaves them alone until released."""
    if by_filter(ctx, "hold", ids, filters):
        return
    wanted = _ids(ids)
    eng = engine(ctx)
    missing = queue.missing_ids(eng, wanted)
    _report(
        queue.hold(eng, wanted),
        len(wanted) - len(missing),
        "held",
        "only unsent messages that no worker is sending right now can be held",
    )
    _fail_missing(missing)


def _report(done: int, wanted: int, verb: str, why: str) -> None:
    """'N message(s) held.', and why the others were left alone when some were."""
    if done >= wanted:
        click.echo(f"{done} message(s) {verb}.")
    else:
        click.echo(f"{done} of {wanted} message(s) {verb}: {why}.")


def _fail_missing(missing: list[int]) -> None:
    """Exit 1 naming the ids that name no message (the others were done)."""
    if missing:
        more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        shown = ", ".join(str(i) for i in missing[:20]) + more
        fail(f"no message with the id{'s' if len(missing) > 1 else ''} {shown}.", 1)


@queue_group.command("release")
@click.argument("ids", nargs=-1, type=ID)
@filter_options
@click.pass_context
def release_cmd(ctx: click.Context, /, ids: tuple[int, ...], **filters: Any) -> None:
    """Release held messages (the ids given, or every message a filter matches)."""
    if by_filter(ctx, "release", ids, filters):
        return
    wanted = _ids(ids)
    eng = engine(ctx)
    missing = queue.missing_ids(eng, wanted)
    _report(queue.release(eng, wanted), len(wanted) - len(missing), "released", "only held messages can be released")
    _fail_missing(missing)


@queue_group.command("delete")
@click.argument("ids", nargs=-1, type=ID)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@filter_options
@click.pass_context
def delete_cmd(ctx: click.Context, /, ids: tuple[int, ...], yes: bool, **filters: Any) -> None:
    """Delete messages and their attempt logs (the ids given, or every message a
    filter matches; never one being sent right now)."""
    if by_filter(ctx, "delete", ids, filters, yes=yes):
        return
    wanted = _ids(ids)
    eng = engine(ctx)
    missing = queue.missing_ids(eng, wanted)
    if len(missing) < len(set(wanted)):
        if not yes:
            confirm(f"Delete {len(set(wanted)) - len(missing)} message(s)?", "delete", "nothing deleted.")
        click.echo(f"{queue.delete(eng, wanted)} message(s) deleted.")
    _fail_missing(missing)


@queue_group.command("purge")
@click.option(
    "--sent-older-than",
    "days",
    type=float,
    required=True,
    metavar="DAYS",
    help="Delete sent messages delivered more than DAYS ago.",
)
@click.pass_context
def purge_cmd(ctx: click.Context, days: float) -> None:
    """Delete old sent messages."""
    click.echo(f"{queue.purge_sent(engine(ctx), days)} sent message(s) purged.")


def register(cli: click.Group) -> None:
    cli.add_command(send_cmd)
    cli.add_command(queue_group)
