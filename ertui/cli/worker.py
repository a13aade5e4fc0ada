"""`ertui worker`: run the delivery worker in the foreground (``ertui.delivery.runner``)."""

from __future__ import annotations

import click

from ertui.cli.common import engine, not_empty, terminal_path
from ertui.errors import ErtuiError

LEVELS = ("debug", "info", "warning", "error")


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--lease-seconds",
    type=click.FloatRange(1, 3600),
    default=None,
    help="How long a claim lasts without renewal (default 30).",
)
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes sharing the queue (the MTA connection limits hold "
    "across all of them); more than one uses more CPU cores.",
)
@click.option(
    "--log-file",
    metavar="PATH",
    default=None,
    callback=not_empty,
    help="Append the log here instead of stderr.",
)
@click.option("--log-level", type=click.Choice(LEVELS, case_sensitive=False), default="info", show_default=True)
@click.pass_context
def worker_cmd(
    ctx: click.Context,
    once: bool,
    lease_seconds: float | None,
    processes: int,
    log_file: str | None,
    log_level: str,
) -> None:
    """Deliver the mail queue over every enabled MTA (SIGTERM/SIGINT/SIGHUP: graceful stop).

    Tuning for tests and special cases comes from ERTUI_WORKER_<SETTING>
    variables, e.g. ERTUI_WORKER_BACKOFF_BASE=0 (see ertui.delivery.settings).
    """
    from ertui.delivery import runner
    from ertui.delivery.settings import WorkerSettings

    if processes > 1 and not runner.CAN_FORK:
        raise click.BadParameter("needs fork(), which this system lacks", param_hint="--processes")
    try:
        fd = runner.open_log(log_file)
    except OSError as exc:  # like every file that cannot be used: one sentence, exit 1
        raise ErtuiError(f"--log-file {terminal_path(log_file or '')} cannot be opened: {exc.strerror}.") from None
    handler = runner.setup_logging(fd, log_level, processes)
    settings = WorkerSettings.from_env(lease_seconds=lease_seconds)
    if runner.run(engine(ctx), settings, handler, once=once, processes=processes):
        raise SystemExit(1)


def register(cli: click.Group) -> None:
    cli.add_command(worker_cmd)
