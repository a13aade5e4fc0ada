"""Command-line tests: a store ready to send (sender and host name set) and a
STARTTLS server with a login."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from ertui import settings
from tests.smtpd import SmtpServer

ADMIN = "postmaster@example.org"
SECRET = "cli-S3cret-pass"


@pytest.fixture
def ready(engine: Engine) -> Engine:
    settings.set_admin_email(engine, ADMIN)
    settings.set_master_host(engine, "mail.example.org")
    return engine


@pytest.fixture
def auth_server(server_ssl_ctx: ssl.SSLContext) -> Iterator[SmtpServer]:
    with SmtpServer("starttls", server_ctx=server_ssl_ctx, auth={"mailer": SECRET}) as srv:
        yield srv
