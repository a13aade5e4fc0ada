"""`ertui worker`: run the delivery worker in the foreground (``ertui.delivery.runner``)."""

from __future__ import annotations

import sys

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
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve Prometheus metrics on this port at /metrics (0: a free port, printed on start).",
)
@click.option(
    "--metrics-address",
    default="127.0.0.1",
    show_default=True,
    metavar="ADDR",
    help="The address the metrics server binds (anything but loopback is your explicit choice).",
)
@click.option("--no-retention", is_flag=True, help="Do not purge old sent/failed messages (see `ertui retention`).")
@click.pass_context
def worker_cmd(
    ctx: click.Context,
    once: bool,
    lease_seconds: float | None,
    processes: int,
    log_file: str | None,
    log_level: str,
    metrics_port: int | None,
    metrics_address: str,
    no_retention: bool,
) -> None:
    """Deliver the mail queue over every enabled MTA (SIGTERM/SIGINT/SIGHUP: graceful stop).

    The delivery policy (retry delays, attempts, MTA cooldown) comes from the
    store (`ertui policy`) and is reread every 30 seconds. Tuning for tests and
    special cases comes from ERTUI_WORKER_<SETTING> variables, e.g.
    ERTUI_WORKER_BACKOFF_BASE=0 (see ertui.delivery.settings), which override it.
    """
    from ertui.delivery import runner
    from ertui.delivery.settings import WorkerSettings

    if processes > 1 and not runner.CAN_FORK:
        raise click.BadParameter("needs fork(), which this system lacks", param_hint="--processes")
    from ertui import validate
    from ertui.service.runtime import Service, ServiceOptions

    metrics_address = validate.host(metrics_address, "--metrics-address")  # never "" (which binds everywhere)
    if metrics_port is not None and processes > 1:
        raise click.BadParameter(
            "needs --processes 1: each process counts only its own deliveries (run one worker per metrics port)",
            param_hint="--metrics-port",
        )
    try:
        fd = runner.open_log(log_file)
    except OSError as exc:  # like every file that cannot be used: one sentence, exit 1
        raise ErtuiError(f"--log-file {terminal_path(log_file or '')} cannot be opened: {exc.strerror}.") from None
    settings = WorkerSettings.from_env(lease_seconds=lease_seconds)
    store = engine(ctx)
    service = Service(store, ServiceOptions(metrics_port, metrics_address, retention=not (once or no_retention)))
    try:
        port = service.start_metrics()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise click.BadParameter(
            f"cannot serve on {metrics_address} port {metrics_port}: {reason}", param_hint="--metrics-port"
        ) from None
    if port is not None:
        host = f"[{metrics_address}]" if ":" in metrics_address else metrics_address
        click.echo(f"metrics: http://{host}:{port}/metrics")
        sys.stdout.flush()
    handler = runner.setup_logging(fd, log_level, processes)
    if runner.run(store, settings, handler, once=once, processes=processes, service=service):
        raise SystemExit(1)


def register(cli: click.Group) -> None:
    cli.add_command(worker_cmd)
