"""Pure checks shared by every front end. Each failure names the field and the rule."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from urllib.parse import urlsplit

from ertui.errors import Field, ValidationError
from ertui.mta_rules import MAX_RATE_LIMIT, MAX_TIMEOUT, MIN_TIMEOUT, AuthMechanism

# The fields the core checks: a stable key and the web page's label (see Field).
DESCRIPTION = Field("description", "Description")
HOST = Field("host", "Host Name")
PORT = Field("port", "Host Port")
SECURITY = Field("security", "Security")
USERNAME = Field("username", "Username")
PASSWORD = Field("password", "Password")
MAX_CONNECTIONS = Field("max_connections", "Max. Concurrent Connections")
TIMEOUT = Field("timeout", "Timeout")
EMAIL = Field("email", "Email address")
ADMIN_EMAIL = Field("admin_email", "Administrator email address")
MASTER_HOST = Field("master_host", "Master Server Host Name")
TO = Field("to", "To")
SUBJECT = Field("subject", "Subject")
BODY = Field("body", "Body")
RATE_LIMIT = Field("rate_limit_per_minute", "Rate limit")
EHLO_NAME = Field("ehlo_name", "EHLO name")
AUTH_MECHANISM = Field("auth_mechanism", "Auth mechanism")
OAUTH_TOKEN_URL = Field("oauth_token_url", "Token URL")
OAUTH_CLIENT_ID = Field("oauth_client_id", "Client ID")
OAUTH_SCOPE = Field("oauth_scope", "Scope")
OAUTH_SECRET = Field("oauth_secret", "Client secret")

MAX_HOST_LEN = 253
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_FORBIDDEN_HEADER_CHARS = ("\r", "\n", "\0")
# Longest text a free-text field takes where no other rule gives a length.
MAX_SUBJECT_LEN = 998
MAX_SECRET_LEN = 1024
MAX_SEARCH_LEN = 200
SEARCH = Field("search", "Search")


def shown(value: str, most: int = 60) -> str:
    """A value quoted back in a sentence: at most ``most`` characters, cut with …"""
    return value if len(value) <= most else value[: most - 1] + "…"


def control_character(value: str) -> str | None:
    """The first control character in ``value`` (C0, DEL, C1, or a Unicode line
    or paragraph separator), shown as an escape such as ``\\x0b``; None if none."""
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            return ch.encode("unicode_escape").decode("ascii")
    return None


def _is_ip_literal(value: str) -> bool:
    candidate = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def _hostname_problem(value: str) -> str | None:
    """None if ``value`` is an RFC 1123 host name, else what is wrong with it."""
    if "://" in value:
        return "must not include a scheme such as smtp://"
    if any(ch.isspace() for ch in value):
        return "must not contain spaces"
    if "/" in value:
        return "must not include a path"
    if ":" in value:
        return "must not include a port (use the port field)"
    if len(value) > MAX_HOST_LEN:
        return f"must be at most {MAX_HOST_LEN} characters"
    name = value[:-1] if value.endswith(".") else value
    if not name:
        return "must not be empty"
    for label in name.split("."):
        if not _LABEL.match(label):
            return (
                "must be a host name made of letters, digits and hyphens "
                "(labels of 1-63 characters, not starting or ending with a hyphen)"
            )
    if name.rsplit(".", 1)[-1].isdigit():
        return "must be a host name or a valid IP address"
    return None


def host(value: str, field: Field | str = HOST) -> str:
    """An RFC 1123 host name or an IPv4/IPv6 literal, at most 253 characters."""
    field = Field.of(field)
    value = value.strip()
    if not value:
        raise ValidationError(field, f"{field.label} is required.")
    if len(value) > MAX_HOST_LEN:
        raise ValidationError(field, f"{field.label} must be at most {MAX_HOST_LEN} characters.")
    if _is_ip_literal(value):
        return value[1:-1] if value.startswith("[") else value
    problem = _hostname_problem(value)
    if problem:
        raise ValidationError(field, f"{field.label} {problem}.")
    return value


def port(value: object, field: Field | str = PORT) -> int:
    """An integer from 1 to 65535 (a digit string is accepted)."""
    return whole_number(value, field, 1, 65535)


def whole_number(value: object, field: Field | str, low: int, high: int) -> int:
    """An integer (or a string of digits) from ``low`` to ``high``."""
    field = Field.of(field)
    rule = f"{field.label} must be a whole number from {low} to {high}."
    if isinstance(value, bool):
        raise ValidationError(field, rule)
    if isinstance(value, str):
        value = digits(value)
    if not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(field, rule)
    return value


def digits(text: str, max_len: int = 18) -> int | None:
    """The number a string of ASCII digits stands for; None for anything else,
    including Unicode digits such as '²' (``str.isdigit`` takes them, ``int`` does
    not) and more than ``max_len`` digits (``int`` refuses thousands)."""
    text = text.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= max_len):
        return None
    return int(text)


def timeout(value: float, field: Field | str = TIMEOUT) -> float:
    """Seconds to wait for a connection or a reply: more than 0, at most 600."""
    field = Field.of(field)
    if not 0 < value <= 600:  # (NaN fails this too)
        raise ValidationError(field, f"{field.label} must be more than 0 and at most 600 seconds.")
    return float(value)


def mta_timeout(value: object, field: Field | str = TIMEOUT) -> float:
    """A saved MTA's timeout: seconds from 1 to 300 (a number or a string of one)."""
    field = Field.of(field)
    rule = f"{field.label} must be a number of seconds from {MIN_TIMEOUT} to {MAX_TIMEOUT}."
    if isinstance(value, str):  # ASCII digits only: float() takes '١٠', '1_0' and 'nan'
        if _DECIMAL.fullmatch(value.strip()) is None:
            raise ValidationError(field, rule)
        value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float) or not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
        raise ValidationError(field, rule)  # (NaN fails the range too)
    return float(value)


def rate_limit(value: object, field: Field | str = RATE_LIMIT) -> int:
    """Messages per minute through an MTA: 0 (no limit) to 100,000."""
    return whole_number(value, field, 0, MAX_RATE_LIMIT)


def ehlo_name(value: str | None, field: Field | str = EHLO_NAME) -> str | None:
    """The name an MTA's sessions give in EHLO: a fully qualified domain name,
    or None (empty) for the default, the master server host name."""
    if value is None or not value.strip():
        return None
    return fqdn(value, field)


def auth_mechanism(value: str, field: Field | str = AUTH_MECHANISM) -> AuthMechanism:
    field = Field.of(field)
    try:
        return AuthMechanism(value.strip().lower())
    except ValueError:
        names = ", ".join(m.value for m in AuthMechanism)
        raise ValidationError(field, f"{field.label} must be one of {names}.") from None


_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def token_url(value: str, field: Field | str = OAUTH_TOKEN_URL) -> str:
    """An OAuth2 token endpoint: an https:// address (http:// only on this host,
    so the client secret never crosses a network in clear), with no credentials
    in it (``https://id:secret@…``: the URL is stored, shown and logged as it
    is). The host is the one a URL parser finds (``urlsplit``, which agrees with
    httpx); an ``@`` before the path and any ``\\`` are refused outright, so
    no parser can read another host out of the address."""
    field = Field.of(field)
    value = header_text(value.strip(), field)
    try:
        parts = urlsplit(value)
        scheme, name = parts.scheme.lower(), (parts.hostname or "").lower()
        parts.port  # noqa: B018 (raises ValueError for a port that is no number from 0 to 65535)
    except ValueError:  # that, or an IPv6 address without its closing "]"
        scheme = name = ""
    local = scheme == "http" and name in _LOOPBACK_NAMES
    bad = not (scheme == "https" or local) or not name or len(value) > 2000 or " " in value or "\\" in value
    if bad or not value.lower().startswith(scheme + "://"):
        raise ValidationError(
            field, f"{field.label} must be an https:// address (http:// only for 127.0.0.1 or localhost)."
        )
    authority = value.partition("://")[2].split("/", 1)[0]
    if "@" in authority:
        raise ValidationError(
            field, f"{field.label} must not contain a user name or password: give the client secret as Client secret."
        )
    return value


def description(value: str, field: Field | str = DESCRIPTION) -> str:
    return short_text(value, field, 100)


def short_text(value: str, field: Field | str, most: int) -> str:
    """A one-line text of 1 to ``most`` characters, spaces around it trimmed."""
    field = Field.of(field)
    value = value.strip(" ")
    if not 1 <= len(value) <= most:
        raise ValidationError(field, f"{field.label} must be 1 to {most} characters long.")
    return header_text(value, field)


def max_connections(value: object, field: Field | str = MAX_CONNECTIONS) -> int:
    return whole_number(value, field, 1, 100)


def email(value: str, field: Field | str = EMAIL) -> str:
    """A deliverable-looking address (syntax only, no DNS); returns it normalized."""
    field = Field.of(field)
    value = value.strip()
    if not value:
        raise ValidationError(field, f"{field.label} is required.")
    if any(ch in value for ch in _FORBIDDEN_HEADER_CHARS):
        raise ValidationError(field, f"{field.label} must not contain line breaks or NUL characters.")
    # loaded on first use (~30 ms): `mta list`, `--help` and the console's first frame need no address checked
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        raise ValidationError(
            field, f"{field.label} {shown(value)!r} is not a valid email address: {reason}."
        ) from None
    return str(result.normalized)


# A plain ASCII local part (RFC 5322 dot-atom): with a domain already checked,
# the address needs no further work.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


def email_checker(field: Field | str = EMAIL) -> Callable[[str], str]:
    """``email`` as a function, fast for many addresses on few domains:
    each new domain (and any unusual address) goes through the full check once."""
    seen: dict[str, str] = {}
    domains: dict[str, str] = {}

    def check(value: str) -> str:
        done = seen.get(value)
        if done is not None:
            return done
        text = value.strip()
        local, at, domain = text.rpartition("@")
        good = domains.get(domain) if at else None
        if good is not None and len(local) <= 64 and len(text) <= 254 and _DOT_ATOM.match(local):
            result = f"{local}@{good}"
        else:
            result = email(text, field)
            norm_local, _, norm_domain = result.rpartition("@")
            if at and norm_local == local and _DOT_ATOM.match(local):
                domains[domain] = norm_domain
        seen[value] = result
        return result

    return check


def fqdn(value: str, field: Field | str = MASTER_HOST) -> str:
    """A fully qualified domain name: two or more labels, nothing else."""
    field = Field.of(field)
    value = value.strip()
    if not value:
        raise ValidationError(field, f"{field.label} is required.")
    if _is_ip_literal(value):
        raise ValidationError(field, f"{field.label} must be a fully qualified domain name, not an IP address.")
    problem = _hostname_problem(value)
    if problem:
        raise ValidationError(field, f"{field.label} {problem}.")
    name = value[:-1] if value.endswith(".") else value
    if "." not in name:
        raise ValidationError(
            field,
            f"{field.label} must be a fully qualified domain name with two or more labels, such as mail.example.com.",
        )
    return name.lower()


def fqdn_problem(value: str) -> str | None:
    """The sentence ``fqdn`` would raise, or None when ``value`` is a valid FQDN."""
    try:
        fqdn(value)
    except ValidationError as exc:
        return exc.message
    return None


def header_text(value: str, field: Field | str = SUBJECT) -> str:
    """Text that goes into a mail header: UTF-8, no control character at all
    (CR, LF, NUL, but also TAB, VT, FF, ESC, DEL, C1 and the Unicode line separators)."""
    field = Field.of(field)
    if any(ch in value for ch in _FORBIDDEN_HEADER_CHARS):
        raise ValidationError(field, f"{field.label} must not contain line breaks or NUL characters.")
    bad = control_character(value)
    if bad is not None:
        raise ValidationError(field, f"{field.label} must not contain control characters (found {bad}).")
    return utf8_text(value, field)


def subject(value: str, field: Field | str = SUBJECT) -> str:
    """A Subject: header text of at most 998 characters (the RFC 5322 line limit)."""
    field = Field.of(field)
    if len(value) > MAX_SUBJECT_LEN:
        raise ValidationError(field, f"{field.label} must be at most {MAX_SUBJECT_LEN} characters long.")
    return header_text(value, field)


def secret(value: str, field: Field | str = PASSWORD) -> str:
    """A password or token: UTF-8, at most 1024 characters, no control character
    (a NUL or an escape typed by mistake is never part of a password)."""
    field = Field.of(field)
    if len(value) > MAX_SECRET_LEN:
        raise ValidationError(field, f"{field.label} must be at most {MAX_SECRET_LEN} characters long.")
    if control_character(value) is not None:
        raise ValidationError(field, f"{field.label} must not contain control characters (such as NUL or ESC).")
    return utf8_text(value, field)


def search(value: str, field: Field | str = SEARCH) -> str:
    """Search text for a listing: at most 200 characters, trimmed."""
    field = Field.of(field)
    value = value.strip()
    if len(value) > MAX_SEARCH_LEN:
        raise ValidationError(field, f"{field.label} must be at most {MAX_SEARCH_LEN} characters long.")
    bad = control_character(value)
    if bad is not None:  # stored text holds none (a NUL: PostgreSQL cannot even compare it)
        raise ValidationError(field, f"{field.label} must not contain control characters (found {bad}).")
    return utf8_text(value, field)


def filter_text(value: str, field: Field | str, most: int = 255) -> str:
    """A word that filters a listing (a domain, an MTA's name): 1 to ``most``
    printable characters, trimmed. A control character (a NUL, which
    PostgreSQL cannot even compare) matches nothing ever stored: refused."""
    field = Field.of(field)
    value = value.strip()
    if not value or len(value) > most or not value.isprintable():
        raise ValidationError(field, f"{field.label} must be 1 to {most} printable characters.")
    return utf8_text(value, field)


def filter_domain(value: str, field: Field | str, most: int = 255) -> str:
    """A recipient domain to filter by: ``filter_text``, in lower case, an ``@`` before it dropped."""
    domain = filter_text(value, field, most).lower().lstrip("@")
    if not domain:  # `--domain @` was no filter at all: everything matched
        raise ValidationError(field, f"{Field.of(field).label} must name a domain, such as example.com.")
    return domain


def utf8_text(value: str, field: Field | str) -> str:
    """Text that can be written as UTF-8: not bytes of another encoding that
    Python carried over as lone surrogates (argv, stdin, files)."""
    field = Field.of(field)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(field, f"{field.label} must be UTF-8 text.") from None
    return value


def username(value: str, field: Field | str = USERNAME) -> str:
    """The login an MTA's server knows (SMTP AUTH): any one-line text up to 255 characters."""
    return short_text(value, field, 255)


_DECIMAL = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,6})?")
_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def account_name(value: str, field: Field | str = USERNAME) -> str:
    """The name of a console user account (``ertui user``): stricter than an MTA's
    login, since it is typed at a prompt and shown in lists."""
    field = Field.of(field)
    value = value.strip()
    if not _ACCOUNT_NAME.match(value):
        raise ValidationError(
            field,
            f"{field.label} must be 1 to 64 letters, digits or . _ @ - and start with a letter or digit.",
        )
    return value
