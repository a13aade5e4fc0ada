"""`ertui mta test`: send a test email through one MTA, saved or not yet saved.

Exit 0 when the server accepted the mail, 1 when the test failed (kind, code,
server text and a hint on stdout), 2 for bad input.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import click

from ertui import mtas, validate
from ertui.cli.common import engine, print_json
from ertui.cli.mta_options import ConnectionFields, SessionFields, connection_options, read_password, session_options
from ertui.errors import Field, ValidationError
from ertui.smtp.outcome import MtaConfig, ProbeResult, Step
from ertui.termsafe import terminal_safe

MTA_FIELD = Field("mta", "MTA")


def _config(
    ctx: click.Context, mta: str | None, host: str | None, conn: ConnectionFields, session: SessionFields
) -> MtaConfig:
    """A saved MTA's settings, or the unsaved ones of --host checked by ``draft_config``."""
    if mta and host:
        raise ValidationError(MTA_FIELD, "Give either a saved MTA or --host, not both.")
    if not mta and not host:
        raise ValidationError(MTA_FIELD, "Give a saved MTA (id or description) or --host HOST.")
    if mta:
        given = conn.given() + session.given()
        if given:
            raise ValidationError(MTA_FIELD, f"{', '.join(given)} only go with --host; a saved MTA uses its settings.")
        return mtas.config_for(mtas.get(engine(ctx), mta))
    assert host is not None
    mechanism = session.login(conn.username)  # (before a prompt)
    return mtas.draft_config(
        host=host,
        port=conn.port,
        security=conn.security,
        username=conn.username,
        password=read_password(conn.username, conn.password_stdin, mechanism),
        verify_tls=not conn.no_verify_tls,
        **session.values(),
    )


def _as_dict(result: ProbeResult) -> dict[str, Any]:
    o = result.outcome
    return {
        "ok": o.ok,
        "kind": o.kind.value if o.kind else None,
        "permanent": o.permanent,
        "nature": None if o.ok else o.nature,
        "code": o.code,
        "message": o.message,
        "hint": o.hint,
        "transcript": result.transcript,
        "warnings": result.warnings,
        "steps": [
            {
                "name": s.name,
                "ok": s.ok,
                "ms": s.ms,
                "detail": s.detail,
                **({"warning": s.warning} if s.warning else {}),
            }
            for s in result.steps
        ],
    }


def step_dict(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = {"name": step.name, "ok": step.ok, "ms": step.ms, "detail": step.detail}
    if step.warning:
        data["warning"] = step.warning
    return data


def print_step(step: Step) -> None:
    """One line of the checklist, as the step ends: ✓ or ✗, its time, what it found."""
    ms = f"{step.ms:.1f} ms" if step.ms is not None else ""
    click.echo(terminal_safe(f"{'✓' if step.ok else '✗'} {step.name:<8} {ms:>10}  {step.detail}"))
    if step.warning:
        click.echo(terminal_safe(f"  ! {step.warning}"))


def print_unreached(config: MtaConfig, result: ProbeResult, *, sends: bool) -> None:
    """The steps the Test never got to, then a blank line before the verdict."""
    from ertui.smtp.steps import planned  # the SMTP stack loads only when a Test runs

    done = {s.name for s in result.steps}
    for name in planned(config.security.value, config.use_auth, sends):
        if name not in done and not result.outcome.ok:
            click.echo(f"· {name:<8} {'':>10}  not reached")
    click.echo("")


def _print(result: ProbeResult, show_transcript: bool) -> None:
    """The text output: every server text made safe for the terminal."""
    if show_transcript:
        for line in result.transcript:
            click.echo(terminal_safe(line))
        click.echo("")
    o = result.outcome
    if o.ok:
        click.echo(terminal_safe(o.message))
    else:
        code = f" {o.code}" if o.code is not None else ""
        kind = o.kind.value if o.kind else "error"
        click.echo(f"Test failed: {kind}{code} ({o.nature})")
        said = terminal_safe(o.message)
        click.echo(f"Server said: {said}" if o.code is not None else f"Error: {said}")
        if o.hint:
            click.echo(f"Hint: {terminal_safe(o.hint)}")
    for warning in result.warnings:
        click.echo(f"Warning: {warning}")


@click.command("test")
@click.argument("mta", required=False)
@click.option("--to", "to", required=True, metavar="ADDRESS", help="Recipient of the test email.")
@click.option("--host", default=None, help="Test unsaved settings: host name or IP address.")
@connection_options
@session_options()
@click.option("--transcript", "show_transcript", is_flag=True, help="Print the SMTP dialogue.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--timeout",
    type=float,
    default=None,
    hidden=True,
    metavar="SECONDS",
    help="Connect and per-command timeout (expert).",
)
@click.pass_context
def test_cmd(
    ctx: click.Context,
    mta: str | None,
    to: str,
    host: str | None,
    conn: ConnectionFields,
    session: SessionFields,
    show_transcript: bool,
    as_json: bool,
    timeout: float | None,
) -> None:
    """Send a test email through one MTA (saved: MTA; unsaved: --host …).

    Exit 0 when the server accepted the mail, 1 when the test failed, 2 for
    bad input.
    """
    config = _config(ctx, mta, host, conn, session)
    if timeout is not None:
        config = replace(config, timeout=validate.timeout(timeout))
    result = asyncio.run(mtas.run_test(engine(ctx), config, to, None if as_json else print_step))
    if as_json:
        print_json(_as_dict(result))
    else:
        print_unreached(config, result, sends=True)
        _print(result, show_transcript)
    ctx.exit(0 if result.outcome.ok else 1)


test_cmd.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def register(cli: click.Group) -> None:
    group = cli.commands["mta"]
    assert isinstance(group, click.Group)
    group.add_command(test_cmd)
