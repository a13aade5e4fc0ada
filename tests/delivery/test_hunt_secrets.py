"""A real `ertui worker` process (``--log-level debug``) against servers that
quote a secret back: an XOAUTH2 MTA whose server quotes the client's AUTH line
in its 535 (the base64 of the user and the access token, with a real local
token endpoint), and a content filter that quotes a password-reset link it
refuses. The secret reaches neither the worker's log, nor the store (the
SQLite file's bytes, a PostgreSQL dump), nor any output that shows the
failure (`mta list`, `queue show`, `ertui log`, text and JSON)."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine, make_url

from ertui import mtas, queue, recovery, settings, users
from ertui.cli import cli
from ertui.mta_rules import AuthMechanism
from ertui.store.engine import make_engine
from tests.delivery.conftest import finish, start_worker, worker_env
from tests.echo_servers import SECRET, TOKEN, USERS, EchoingRelay, Endpoint, granting, leaks
from tests.smtpd import SmtpServer


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


# -- a password-reset link quoted back by the server -----------------------------------


class QuotingFilter(SmtpServer):
    """A content filter that refuses a message for a URL in its text and quotes
    the URL back (as URIBL checks do), with ``code`` 554 or 451."""

    def __init__(self, code: int) -> None:
        super().__init__("plain")
        self.code = code
        self.urls: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        part = message.get_body(("plain",))
        assert part is not None
        found = re.search(r"https://\S+", str(part.get_content()))
        assert found is not None
        self.urls.append(found.group(0))
        return f"{self.code} 5.7.1 Message rejected: URL {found.group(0)} is listed at multi.uribl.com"


@pytest.mark.parametrize("code", [554, 451])
def test_a_reset_link_the_server_quotes_back_is_kept_nowhere(any_db_url: str, tmp_path: Path, code: int) -> None:
    engine = make_engine(any_db_url)
    settings.set_admin_email(engine, "admin@example.com")
    settings.set_master_host(engine, "er.example.com")
    users.add_user(engine, "dave", email="dave@example.com", password="old-password-1")
    with QuotingFilter(code) as srv:
        mtas.add(engine, description="filtered", host="127.0.0.1", port=srv.port)
        mid = recovery.request_recovery(engine, "dave").message_id
        log = tmp_path / "worker.log"
        env = worker_env(ERTUI_WORKER_BACKOFF_BASE="600")  # deferred: not due again in this run
        exit_code, err = finish(start_worker(any_db_url, "--once", "--log-level", "debug", env=env, log=log))
        assert exit_code == 0, err
    [url] = srv.urls  # the live link went out, and came back in the reply
    token = url.split("token=", 1)[1]
    outputs = {
        "worker log": log.read_text(encoding="utf-8", errors="replace") + err,
        "queue show --json": cli_out(any_db_url, "queue", "show", str(mid), "--json"),
        "queue show": cli_out(any_db_url, "queue", "show", str(mid)),
        "log --json": cli_out(any_db_url, "log", "--json"),
        "log": cli_out(any_db_url, "log"),
        "mta list --json": cli_out(any_db_url, "mta", "list", "--json"),
    }
    shown = json.loads(outputs["queue show --json"])
    assert shown["status"] == ("failed" if code == 554 else "deferred")
    assert "reset-password?token=<redacted> is listed" in shown["last_error"]  # the reply, without the token
    engine.dispose()
    outputs["store"] = store_text(any_db_url, engine)
    assert {where: token[:12] in text for where, text in outputs.items()} == dict.fromkeys(outputs, False)
