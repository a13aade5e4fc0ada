"""`ertui serve`: the console in a browser (textual-serve), behind a login."""

from __future__ import annotations

import click

from ertui.cli.common import Obj, fail


def _check_public_url(value: str | None) -> str | None:
    if value is None:
        return None
    from yarl import URL

    try:
        url = URL(value)
    except ValueError:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host or url.query_string or url.fragment:
        fail("--public-url must be an http:// or https:// address with a host name, like https://ertui.example.com.", 2)
    return value


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="The port (0: any free).")
@click.option("--demo", is_flag=True, help="Serve `ertui demo`'s store and SMTP sink (no login on 127.0.0.1).")
@click.option(
    "--public-url",
    metavar="URL",
    default=None,
    help="The address browsers use, behind a proxy (https:// makes the session cookie Secure).",
)
@click.pass_context
def serve_cmd(ctx: click.Context, host: str, port: int, demo: bool, public_url: str | None) -> None:
    """Serve the console to browsers: one console per browser tab.

    Listens on 127.0.0.1 unless --host says otherwise. A login is required
    (the one-time link printed at start, or an ertui user's name and
    password) except for --demo on a loopback address.
    """
    from ertui import validate
    from ertui.config import resolve_db_url
    from ertui.web.runner import ServeOptions, serve

    host = validate.host(host, "--host")  # a ValidationError: one sentence, exit 2
    options = ServeOptions(host=host, port=port, public_url=_check_public_url(public_url), demo=demo)
    obj = ctx.find_object(Obj) or Obj(None)
    db_url = obj.db_url

    def announce(text: str) -> None:
        click.echo(text)

    if not demo:
        engine = obj.engine  # opened (and migrated) once here, before any console
        serve(options, engine, resolve_db_url(db_url), announce)
        return
    from ertui.demo import demo_environment

    with demo_environment(db_url, sink_delay=0.3, trickle_every=4.0) as env:
        serve(options, env.engine, env.db_url, announce)


def register(cli: click.Group) -> None:
    cli.add_command(serve_cmd)
