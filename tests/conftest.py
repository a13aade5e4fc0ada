"""Shared fixtures: every test gets its own data/config dirs, SQLite file, key;
SMTP servers are real aiosmtpd instances on 127.0.0.1 with free ports."""

from __future__ import annotations

import os
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from ertui.smtp import oauth
from tests.relay_servers import RelayServer, TokenEndpoint
from tests.smtpd import SmtpServer

PG_ENV = "ERTUI_TEST_PG_URL"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Data and config dirs under tmp_path; no store or key from the outside."""
    home = tmp_path / "home"
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.delenv("ERTUI_DB", raising=False)
    monkeypatch.delenv("ERTUI_SECRET_KEY", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    return home


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A store file in a folder that exists (an explicit path's folder is never made)."""
    (tmp_path / "store").mkdir(exist_ok=True)
    return tmp_path / "store" / "ertui.db"


@pytest.fixture
def db_url(db_path: Path) -> str:
    return f"sqlite:///{db_path}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    from ertui.store.engine import make_engine

    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test (dropped afterwards)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"no PostgreSQL configured: set {PG_ENV} (.ci/run starts one)")
    from sqlalchemy.engine import make_url

    name = f"ertui_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_url(request: pytest.FixtureRequest, db_url: str) -> str:
    """The same test on a real SQLite file and on a real PostgreSQL."""
    if request.param == "sqlite":
        return db_url
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def any_engine(any_db_url: str) -> Iterator[Engine]:
    from ertui.store.engine import make_engine

    eng = make_engine(any_db_url)
    yield eng
    eng.dispose()


# -- TLS ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_ssl_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    return ctx


@pytest.fixture
def trust_ca(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the test CA trusted through SSL_CERT_FILE, as an operator would."""
    pem = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    monkeypatch.setenv("SSL_CERT_FILE", str(pem))
    return pem


# -- SMTP servers ------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer("plain") as srv:
        yield srv


@pytest.fixture
def ssl_server(server_ssl_ctx: ssl.SSLContext) -> Iterator[SmtpServer]:
    with SmtpServer("ssl", server_ctx=server_ssl_ctx) as srv:
        yield srv


@pytest.fixture
def starttls_server(server_ssl_ctx: ssl.SSLContext) -> Iterator[SmtpServer]:
    with SmtpServer("starttls", server_ctx=server_ssl_ctx) as srv:
        yield srv


@pytest.fixture
def relay() -> Iterator[RelayServer]:
    """Records EHLO names and AUTH mechanisms; speaks XOAUTH2 (tests/relay_servers.py)."""
    with RelayServer() as srv:
        yield srv


@pytest.fixture
def endpoint() -> Iterator[TokenEndpoint]:
    """A local OAuth2 token endpoint; the per-process token cache is emptied after."""
    ep = TokenEndpoint()
    yield ep
    ep.close()
    oauth._cache.clear()  # each test its own endpoint: no token carried over
