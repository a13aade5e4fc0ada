"""Every validation rule: the sentence names the field and the rule."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ertui import validate
from ertui.errors import ValidationError

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


@pytest.mark.parametrize(
    "value",
    [
        "smtp.gmail.com",
        "localhost",
        "mx-1.example.org",
        "127.0.0.1",
        "::1",
        "[2001:db8::1]",
        "a" * 63 + ".example.com",
        "smtp.example.com.",
    ],
)
def test_host_accepts(value: str) -> None:
    assert validate.host(value)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "required"),
        ("smtp://mail.example.com", "scheme"),
        ("mail.example.com/path", "path"),
        ("mail.example.com:25", "port"),
        ("mail example.com", "spaces"),
        ("-bad.example.com", "hyphen"),
        ("bad-.example.com", "hyphen"),
        ("a" * 64 + ".example.com", "1-63"),
        ("under_score.example.com", "letters, digits"),
        ("a." * 130 + "com", "253"),
        ("999.1.1.1", "IP address"),
    ],
)
def test_host_rejects_with_field_and_rule(value: str, rule: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate.host(value)
    assert err.value.field == "Host Name"
    assert str(err.value).startswith("Host Name")
    assert rule in str(err.value)


@given(st.lists(LABEL, min_size=1, max_size=5))
def test_host_property_valid_labels_accepted(labels: list[str]) -> None:
    name = ".".join(labels)
    if len(name) <= 253 and not name.rsplit(".", 1)[-1].isdigit():
        assert validate.host(name) == name


@given(st.text(min_size=1, max_size=300))
def test_host_property_never_crashes_and_result_is_clean(value: str) -> None:
    try:
        out = validate.host(value)
    except ValidationError as exc:
        assert exc.field == "Host Name"
    else:
        assert len(out) <= 253
        assert not any(c.isspace() or c in "/@" for c in out)
        assert "://" not in out


@given(st.integers(min_value=1, max_value=65535))
def test_port_accepts_range(n: int) -> None:
    assert validate.port(n) == n
    assert validate.port(str(n)) == n


@given(st.one_of(st.integers(max_value=0), st.integers(min_value=65536)))
def test_port_rejects_out_of_range(n: int) -> None:
    with pytest.raises(ValidationError, match="Host Port must be a whole number from 1 to 65535"):
        validate.port(n)


@given(st.text(max_size=20) | st.text("0123456789²³١٢", min_size=1, max_size=6000))
def test_port_from_any_text_is_a_port_or_the_sentence(value: str) -> None:
    try:
        n = validate.port(value)
    except ValidationError as exc:
        assert exc.field == "Host Port"
    else:
        assert 1 <= n <= 65535 and value.strip().isascii()


@pytest.mark.parametrize(
    "value", ["", "abc", "25a", "-1", "1.5", True, "²", "١٢", pytest.param("9" * 5000, id="5000-digits")]
)
def test_port_rejects_non_numbers(value: object) -> None:
    with pytest.raises(ValidationError) as err:
        validate.port(value)
    assert err.value.field == "Host Port"


@pytest.mark.parametrize("value", ["", " ", "x" * 101, "bad\nname"])
def test_description_rules(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate.description(value)
    assert err.value.field == "Description"


def test_description_trims_and_allows_100() -> None:
    assert validate.description("  Relay  ") == "Relay"
    assert validate.description("x" * 100) == "x" * 100


@pytest.mark.parametrize(
    ("value", "ok"), [(1, True), (100, True), (0, False), (101, False), ("5", True), ("five", False)]
)
def test_max_connections(value: object, ok: bool) -> None:
    if ok:
        assert validate.max_connections(value) == int(value)  # type: ignore[call-overload]
    else:
        with pytest.raises(ValidationError, match=r"Max\. Concurrent Connections must be a whole number from 1 to 100"):
            validate.max_connections(value)


@pytest.mark.parametrize("value", ["admin@example.com", "first.last+tag@sub.example.co.uk", "ü@example.de"])
def test_email_accepts(value: str) -> None:
    assert "@" in validate.email(value)


@pytest.mark.parametrize(
    "value", ["", "admin", "admin@", "@example.com", "a b@example.com", "admin@example.com\r\nBcc: x@y.z"]
)
def test_email_rejects(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate.email(value, field="To")
    assert str(err.value).startswith("To ")


@pytest.mark.parametrize("value", ["er.example.com", "ip-10-0-0-1.ec2.internal", "MASTER.Example.COM."])
def test_fqdn_accepts_and_normalizes(value: str) -> None:
    out = validate.fqdn(value)
    assert out == out.lower() and not out.endswith(".")


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("localhost", "two or more labels"),
        ("https://er.example.com", "scheme"),
        ("er.example.com/reset", "path"),
        ("er.example.com:8443", "port"),
        ("10.0.0.1", "not an IP address"),
        ("er.example.com junk", "spaces"),
        ("", "required"),
    ],
)
def test_fqdn_rejects(value: str, rule: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate.fqdn(value)
    assert err.value.field == "Master Server Host Name"
    assert rule in str(err.value)


@given(st.text(max_size=50))
def test_header_text_property(value: str) -> None:
    bad = any(c in value for c in "\r\n\0")
    control = any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value)
    if bad:
        with pytest.raises(ValidationError, match="Subject must not contain line breaks"):
            validate.header_text(value)
    elif control:
        with pytest.raises(ValidationError, match="Subject must not contain control characters"):
            validate.header_text(value)
    else:
        assert validate.header_text(value) == value


def test_a_validation_error_carries_a_stable_key_beside_the_label() -> None:
    with pytest.raises(ValidationError) as info:
        validate.port("0")
    assert (info.value.key, info.value.field) == ("port", "Host Port")
    assert info.value.message == "Host Port must be a whole number from 1 to 65535."
    with pytest.raises(ValidationError) as info:
        validate.email("nobody", validate.TO)
    assert (info.value.key, info.value.field) == ("to", "To")
    # A front end's own field (a bare label) gets a key made from it.
    assert ValidationError("Max. Concurrent Connections", "m").key == "max_concurrent_connections"
