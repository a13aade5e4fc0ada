"""A real `ertui worker` process (``--log-level debug``) on an XOAUTH2 MTA whose
server quotes the client's AUTH line back in its 535 (the base64 of the user
and the access token), with a real local token endpoint: the access token
and the client secret reach neither the worker's log, nor the store (the
SQLite file's bytes, a PostgreSQL dump), nor any output that shows the
failure (`mta list`, `queue show`, `ertui log`, text and JSON)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy.engine import Engine, make_url

from ertui import mtas, queue, settings
from ertui.cli import cli
from ertui.mta_rules import AuthMechanism
from ertui.store.engine import make_engine
from tests.delivery.conftest import finish, start_worker
from tests.echo_servers import SECRET, TOKEN, USERS, EchoingRelay, Endpoint, granting, leaks


def cli_out(db_url: str, *args: str) -> str:
    res = CliRunner().invoke(cli, ["--db", db_url, *args])
    assert res.exit_code == 0, res.output
    return res.output


def store_text(db_url: str, engine: Engine) -> str:
    """Every byte the store keeps: the SQLite files (WAL too), or a pg_dump."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        path = Path(url.database)
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file()).decode("latin-1")
    env = dict(os.environ, PGPASSWORD=url.password or "")
    cmd = ["pg_dump", "-h", str(url.host), "-p", str(url.port), "-U", str(url.username), str(url.database)]
    return subprocess.run(cmd, env=env, capture_output=True, check=True, text=True).stdout


def test_an_echoed_xoauth2_line_is_in_no_log_store_or_output(any_db_url: str, tmp_path: Path) -> None:
    engine = make_engine(any_db_url)
    settings.set_admin_email(engine, "admin@example.com")
    settings.set_master_host(engine, "mail.example.com")
    endpoint = Endpoint(granting)
    try:
        with EchoingRelay() as relay:
            mtas.add(
                engine,
                description="m365",
                host="127.0.0.1",
                port=relay.port,
                username=USERS[1],  # the token at an offset of its own in the AUTH line's base64
                auth_mechanism=AuthMechanism.XOAUTH2,
                oauth_token_url=endpoint.url,
                oauth_client_id="app-1",
                oauth_secret=SECRET,
            )
            [mid] = queue.enqueue(engine, "someone@example.com", "hello", "body")
            log = tmp_path / "worker.log"
            code, err = finish(start_worker(any_db_url, "--once", "--log-level", "debug", log=log))
            assert code == 0, err
    finally:
        endpoint.close()
    assert endpoint.bodies and relay.mechanisms  # a token was granted and offered, then refused
    outputs = {
        "worker log": log.read_text(encoding="utf-8", errors="replace") + err,
        "mta list --json": cli_out(any_db_url, "mta", "list", "--json"),
        "mta list": cli_out(any_db_url, "mta", "list"),
        "queue show --json": cli_out(any_db_url, "queue", "show", str(mid), "--json"),
        "queue show": cli_out(any_db_url, "queue", "show", str(mid)),
        "log --json": cli_out(any_db_url, "log", "--json"),
        "log": cli_out(any_db_url, "log"),
    }
    assert "rejected: " in outputs["mta list --json"]  # the server's words are kept…
    engine.dispose()
    outputs["store"] = store_text(any_db_url, engine)
    found = {where: leaks(text, TOKEN) + leaks(text, SECRET) for where, text in outputs.items()}
    assert {where: forms for where, forms in found.items() if forms} == {}  # …without the token or secret
