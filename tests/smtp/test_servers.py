"""The test servers themselves work (so a failing transport test means the transport)."""

from __future__ import annotations

import smtplib

from tests.smtpd import SmtpServer


def test_plain_server_receives_and_counts(smtp_server: SmtpServer) -> None:
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=5) as client:
        client.sendmail("a@example.com", ["b@example.com"], b"Subject: hi\r\n\r\nbody\r\n")
    assert len(smtp_server.received) == 1
    assert smtp_server.received[0].rcpt_tos == ["b@example.com"]
    assert smtp_server.max_seen_connections == 1
