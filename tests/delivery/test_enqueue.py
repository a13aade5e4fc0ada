"""Enqueue: validation, one message per recipient, the rendered bytes."""

from __future__ import annotations

import email
from email import policy
from email.header import decode_header, make_header

import pytest
from sqlalchemy.engine import Engine

from ertui import queue, settings
from ertui.errors import ValidationError
from ertui.settings import NO_ADMIN_ADDRESS, NoAdminAddressError
from ertui.store.models import MessageKind
from tests.delivery.conftest import ADMIN


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def content(raw: bytes) -> str:
    """The decoded body text, with the wire's CRLF turned back into LF."""
    return str(parsed(raw).get_content()).replace("\r\n", "\n")


def test_one_message_per_recipient_with_final_bytes(store: Engine) -> None:
    ids = queue.enqueue(store, ["a@example.com", "b@example.org"], "Hello", "Line one\nLine two")
    assert len(ids) == 2 and ids[0] < ids[1]
    a, b = (queue.get_message(store, i) for i in ids)
    assert (a.recipient, b.recipient) == ("a@example.com", "b@example.org")
    assert a.status == "queued" and a.attempts == 0 and a.sender == ADMIN
    msg = parsed(a.raw)
    assert msg["From"] == ADMIN and msg["To"] == "a@example.com"
    assert msg["Subject"] == "Hello"
    assert msg["Message-ID"].endswith("@mail.example.com>")
    assert msg["Message-ID"] == a.message_id != b.message_id
    assert msg["Date"]
    assert content(a.raw) == "Line one\nLine two\n"
    assert b"\r\n" in a.raw and b"\n" not in a.raw.replace(b"\r\n", b"")


def test_utf8_subject_and_body_are_encoded_and_round_trip(store: Engine) -> None:
    subject = "Grüße aus Köln – Prüfbericht für Zürich, ein recht langer Betreff mit Ümlauten"
    body = "Héllo wörld\n" + "ä" * 600 + "\n. a line starting with a dot\n"
    [mid] = queue.enqueue(store, "ops@example.com", subject, body)
    raw = queue.get_message(store, mid).raw
    assert raw.isascii()  # RFC 2047 header, quoted-printable body: safe without 8BITMIME
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))
    msg = parsed(raw)
    assert str(make_header(decode_header(msg["Subject"]))) == subject
    assert content(raw) == body


def test_long_ascii_subject_is_folded_not_broken(store: Engine) -> None:
    subject = "word " * 40
    [mid] = queue.enqueue(store, "ops@example.com", subject.strip(), "x")
    raw = queue.get_message(store, mid).raw
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert str(make_header(decode_header(parsed(raw)["Subject"]))) == subject.strip()


def test_bad_address_names_the_field_and_writes_nothing(store: Engine) -> None:
    with pytest.raises(ValidationError) as err:
        queue.enqueue(store, ["good@example.com", "not an address"], "s", "b")
    assert err.value.field == "To"
    assert "not an address" in err.value.message
    assert queue.count_messages(store, status="all") == 0


def test_header_injection_is_refused(store: Engine) -> None:
    with pytest.raises(ValidationError) as err:
        queue.enqueue(store, "a@example.com", "hi\r\nBcc: x@example.com", "b")
    assert err.value.field == "Subject"
    assert queue.count_messages(store, status="all") == 0


def test_no_administrator_address_refuses_with_the_sentence(engine: Engine) -> None:
    with pytest.raises(NoAdminAddressError) as err:
        queue.enqueue(engine, "a@example.com", "s", "b")
    assert str(err.value) == NO_ADMIN_ADDRESS
    assert queue.count_messages(engine, status="all") == 0


def test_batch_keeps_order_and_kind(store: Engine) -> None:
    items = [(f"user{i}@example.com", f"Subject {i}", f"Body {i}") for i in range(250)]
    ids = queue.enqueue_batch(store, items, MessageKind.TEST)
    assert len(ids) == 250
    for i in (0, 99, 249):
        m = queue.get_message(store, ids[i])
        assert (m.recipient, m.subject, m.kind) == (f"user{i}@example.com", f"Subject {i}", "test")


def test_master_host_name_used_in_message_id(store: Engine) -> None:
    settings.set_master_host(store, "er.corp.example.net")
    [mid] = queue.enqueue(store, "a@example.com", "s", "b")
    assert queue.get_message(store, mid).message_id.endswith("@er.corp.example.net>")


@pytest.mark.parametrize(
    "address",
    ["a..b@example.com", ".a@example.com", "a b@example.com", "a@localhost", "a@example..com"],
)
def test_batch_checks_every_address_even_on_a_known_domain(store: Engine, address: str) -> None:
    with pytest.raises(ValidationError) as err:
        queue.enqueue_batch(store, [("first@example.com", "s", "b"), (address, "s", "b")])
    assert err.value.field == "To"
    assert queue.count_messages(store, status="all") == 0


def test_batch_normalizes_like_the_single_check(store: Engine) -> None:
    from ertui import validate

    addresses = [
        "Someone@EXAMPLE.com",
        "other+tag@Example.COM",
        "o'hara@example.com",
        "josé@example.com",
        "x@bücher.example",
    ]
    ids = queue.enqueue_batch(store, [(a, "s", "b") for a in addresses])
    got = [queue.get_message(store, i).recipient for i in ids]
    assert got == [validate.email(a) for a in addresses]


@pytest.mark.parametrize(
    ("subject", "body", "field"),
    [
        ("caf\udce9", "b", "Subject"),  # bytes that were not UTF-8, as Python decodes them
        ("s", "caf\udce9 au lait", "Body"),
    ],
)
def test_text_that_is_not_utf8_names_the_field_and_writes_nothing(
    store: Engine, subject: str, body: str, field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        queue.enqueue(store, "a@example.com", subject, body)
    assert err.value.field == field and "UTF-8" in err.value.message
    assert queue.count_messages(store, status="all") == 0
