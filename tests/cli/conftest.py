"""Command-line tests: ``run`` (the command line on the test's store), a store
ready to send (sender and host name set) and a STARTTLS server with a login."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from typing import Any, Protocol

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine

from ertui import settings
from ertui.cli import cli
from tests.smtpd import SmtpServer

ADMIN = "postmaster@example.org"
SECRET = "cli-S3cret-pass"


class Run(Protocol):
    def __call__(self, *args: str, input: str | None = None) -> Result: ...


@pytest.fixture
def run(db_url: str) -> Run:
    """``ertui --db URL ARGS…`` in process; an exception is raised, not caught."""
    runner = CliRunner()

    def _run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, ["--db", db_url, *args], input=input, catch_exceptions=False)

    return _run


def listed(run: Run) -> list[dict[str, Any]]:
    """``mta list --json``, read."""
    res = run("mta", "list", "--json")
    assert res.exit_code == 0
    rows: list[dict[str, Any]] = json.loads(res.stdout)
    return rows


@pytest.fixture
def ready(engine: Engine) -> Engine:
    settings.set_admin_email(engine, ADMIN)
    settings.set_master_host(engine, "mail.example.org")
    return engine


@pytest.fixture
def auth_server(server_ssl_ctx: ssl.SSLContext) -> Iterator[SmtpServer]:
    with SmtpServer("starttls", server_ctx=server_ssl_ctx, auth={"mailer": SECRET}) as srv:
        yield srv
