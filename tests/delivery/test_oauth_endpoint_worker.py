"""The worker with an XOAUTH2 MTA whose token endpoint never answers: the
grant costs that MTA its timeout (it cools down, its last error names the
endpoint) and holds no other MTA's deliveries back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from ertui import mtas, queue
from ertui.mta_rules import AuthMechanism
from ertui.smtp import oauth
from tests.delivery.conftest import ADMIN, add_mta, fast_settings, run_worker
from tests.relay_servers import USER, RelayServer
from tests.smtpd import RawServer, SmtpServer, silent


@pytest.fixture(autouse=True)
def no_cached_token() -> Iterator[None]:
    yield
    oauth._cache.clear()


def test_a_silent_token_endpoint_holds_back_no_other_mta(store: Engine) -> None:
    with RawServer(silent) as ep, RelayServer() as relay, SmtpServer("plain") as good:
        good.behaviour.data_delay = 0.1  # the OAuth2 MTA's connections open meanwhile
        stuck = mtas.add(
            store,
            description="oauth relay",
            host="127.0.0.1",
            port=relay.port,
            max_connections=2,
            timeout=2,
            username=USER,
            auth_mechanism=AuthMechanism.XOAUTH2,
            oauth_token_url=f"http://127.0.0.1:{ep.port}/token",
            oauth_client_id="app-1",
            oauth_secret="s3cret",
        )
        add_mta(store, "good", good.port, max_connections=1)
        queue.enqueue_batch(store, [(f"u{i}@example.com", "s", "b") for i in range(30)])
        run_worker(store, fast_settings())
    assert sorted(r.rcpt_tos[0] for r in good.received) == sorted(f"u{i}@example.com" for i in range(30))
    assert all(r.mail_from == ADMIN for r in good.received)
    row = next(m for m in mtas.list_mtas(store) if m.id == stuck.id)
    assert (
        row.last_error is not None
        and "the token endpoint 127.0.0.1:" in row.last_error
        and "did not answer" in row.last_error
    ), row.last_error
