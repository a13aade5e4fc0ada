"""An MTA's connection rules from the web page: the security modes, the port
rule (plain 25, SSL 465, STARTTLS 587; the switches move the port unless the
operator typed one) and the defaults of a new MTA.

A leaf: the store, the transport, the services and both front ends take these
from here, so each is written once.
"""

from __future__ import annotations

from enum import StrEnum

from ertui.errors import Field, ValidationError


class Security(StrEnum):
    NONE = "none"
    SSL = "ssl"
    STARTTLS = "starttls"

    @property
    def label(self) -> str:
        return {"none": "None", "ssl": "SSL", "starttls": "STARTTLS"}[self.value]


DEFAULT_PORTS: dict[Security, int] = {
    Security.NONE: 25,
    Security.SSL: 465,
    Security.STARTTLS: 587,
}
SECURITY = Field("security", "Security")  # the field of the two switches
MODE_PORTS = frozenset(DEFAULT_PORTS.values())
DEFAULT_MAX_CONNECTIONS = 5
DEFAULT_TIMEOUT = 30.0  # seconds for one step of a session (connect, a reply)
MIN_TIMEOUT, MAX_TIMEOUT = 1, 300  # a saved MTA's timeout, seconds
MAX_RATE_LIMIT = 100_000  # messages per minute; 0 = no limit


class AuthMechanism(StrEnum):
    """How an MTA authenticates: ``auto`` is the best the server offers among
    CRAM-MD5, PLAIN and LOGIN; ``xoauth2`` takes an OAuth2 access token
    (client-credentials grant) instead of a password."""

    AUTO = "auto"
    PLAIN = "plain"
    LOGIN = "login"
    CRAM_MD5 = "cram-md5"
    XOAUTH2 = "xoauth2"

    @property
    def label(self) -> str:
        return {"auto": "Auto", "xoauth2": "OAuth2 (XOAUTH2)"}.get(self.value, self.value.upper())


# Best first: what ``auto`` tries among the methods the server offers.
AUTO_MECHANISMS = (AuthMechanism.CRAM_MD5, AuthMechanism.PLAIN, AuthMechanism.LOGIN)
DEFAULT_OAUTH_SCOPE = "https://outlook.office365.com/.default"  # Microsoft 365


def security_from_flags(ssl: bool, starttls: bool) -> Security:
    """The mode of a new configuration from its two switches."""
    return security_change(Security.NONE, ssl or None, starttls or None) or Security.NONE


def security_change(current: Security, ssl: bool | None, starttls: bool | None) -> Security | None:
    """The mode after switches given as on (True), off (False) or left out (None),
    or None when it does not change. Switching off a mode that is not on (say
    ``--no-starttls`` on an SSL MTA) leaves the mode as it is."""
    if ssl and starttls:
        raise ValidationError(SECURITY, "Enable SSL and Enable STARTTLS exclude each other.")
    if ssl:
        return Security.SSL
    if starttls:
        return Security.STARTTLS
    if (ssl is False and current == Security.SSL) or (starttls is False and current == Security.STARTTLS):
        return Security.NONE
    return None


def port_for_mode(current: int | None, security: Security) -> int:
    """The port after the security mode changed: a typed port is kept,
    an empty one or one still at 25/465/587 follows the mode."""
    if current is None or current in MODE_PORTS:
        return DEFAULT_PORTS[security]
    return current


def host_port(host: str, port: int | str) -> str:
    """``host:port`` as it is written everywhere: an IPv6 address in brackets
    (``[::1]:46019``), so the port cannot be read as part of the address."""
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"
