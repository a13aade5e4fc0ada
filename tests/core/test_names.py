"""Names of things: host:port with IPv6, the EHLO name and the Message-ID domain
without a host name set, and the demo's own key."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from ertui import mtas, queue, settings
from ertui.cli import cli
from ertui.config import ENV_KEY_FILE
from ertui.demo import demo_environment
from ertui.mta_rules import host_port
from ertui.smtp.outcome import MtaConfig
from tests.smtpd import SmtpServer


@pytest.mark.parametrize(
    ("host", "port", "shown"),
    [
        ("::1", 46019, "[::1]:46019"),
        ("2001:db8::25", 25, "[2001:db8::25]:25"),
        ("10.0.0.1", 25, "10.0.0.1:25"),
        ("mail.example.com", 587, "mail.example.com:587"),
    ],
)
def test_host_port_brackets_ipv6(host: str, port: int, shown: str) -> None:
    assert host_port(host, port) == shown
    assert MtaConfig(host=host, port=port).label == shown


def test_cli_prints_ipv6_hosts_in_brackets(db_url: str) -> None:
    res = CliRunner().invoke(
        cli, ["--db", db_url, "mta", "add", "--description", "v6", "--host", "::1", "--port", "46019"]
    )
    assert res.exit_code == 0 and "[::1]:46019" in res.stdout
    res = CliRunner().invoke(cli, ["--db", db_url, "mta", "edit", "v6", "--port", "2525"])
    assert "[::1]:2525" in res.stdout


@pytest.fixture
def no_host_name(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setattr(settings, "default_host_name", lambda: "localhost")
    settings.set_admin_email(engine, "ops@Sender-Domain.example.org")
    return engine


def test_message_id_uses_the_sender_domain_until_a_host_name_is_set(no_host_name: Engine) -> None:
    (first,) = queue.enqueue(no_host_name, "a@example.com", "s", "b")
    mid = queue.get_message(no_host_name, first).message_id
    assert mid.endswith("@sender-domain.example.org>") and "localhost" not in mid
    settings.set_master_host(no_host_name, "console.example.net")
    (second,) = queue.enqueue(no_host_name, "a@example.com", "s", "b")
    assert queue.get_message(no_host_name, second).message_id.endswith("@console.example.net>")


@pytest.mark.parametrize("fqdn", ["localhost", "localhost.localdomain", "box", "ip6-localhost"])
def test_ehlo_never_says_localhost(no_host_name: Engine, monkeypatch: pytest.MonkeyPatch, fqdn: str) -> None:
    monkeypatch.setattr(settings, "default_host_name", lambda: fqdn)
    assert settings.helo_name(no_host_name) == "sender-domain.example.org"
    monkeypatch.setattr(settings, "default_host_name", lambda: "mx1.example.com")
    assert settings.helo_name(no_host_name) == "mx1.example.com"
    settings.set_master_host(no_host_name, "console.example.net")
    assert settings.helo_name(no_host_name) == "console.example.net"


def test_the_test_email_says_ehlo_with_the_sender_domain(no_host_name: Engine) -> None:
    with SmtpServer("plain") as server:  # (it keeps the names clients give in EHLO)
        m = mtas.add(no_host_name, description="sink", host="127.0.0.1", port=server.port)
        result = asyncio.run(mtas.run_test(no_host_name, mtas.config_for(m), "to@example.com"))
    assert result.outcome.ok, result.outcome
    assert server.ehlo_names and set(server.ehlo_names) == {"sender-domain.example.org"}


def test_the_demo_keeps_its_key_in_its_own_folder(isolated_dirs: Path) -> None:
    with demo_environment(messages=1) as demo:
        key_file = Path(os.environ[ENV_KEY_FILE])
        mtas.add(demo.engine, description="with a password", host="127.0.0.1", username="u", password="pw-123456")
        assert key_file.exists() and "ertui-demo-" in str(key_file)
    assert not key_file.exists()
    assert ENV_KEY_FILE not in os.environ
    assert not (isolated_dirs / "config" / "ertui" / "secret.key").exists()
