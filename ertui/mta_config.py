"""An MTA's settings as the transport takes them: a saved row to its
``MtaConfig`` (secrets decrypted), the values typed in the form or on the
command line checked into a draft ``MtaConfig`` (``draft_config``: the one
place these rules live; its login rules, ``login``, are ``mtas.edit``'s too),
and the public JSON view of a row.

Re-exported by ``ertui.mtas``, the MTA service, which stores what is drafted here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ertui import validate
from ertui.errors import ValidationError
from ertui.mta_rules import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_OAUTH_SCOPE,
    DEFAULT_PORTS,
    DEFAULT_TIMEOUT,
    AuthMechanism,
    Security,
)
from ertui.smtp.outcome import MtaConfig
from ertui.store.models import Mta
from ertui.store.vault import Vault
from ertui.timeutil import iso

PASSWORD_REQUIRED = "Password is required when User/Pass Authorization is on."
CLEARTEXT_AUTH = (
    "User/Pass Authorization is on without TLS: the username and password go over the network "
    "in clear text; turn on STARTTLS (587) or SSL (465)."
)


# What the worker takes of a row, and the default for a value outside its range.
_BOUNDED: tuple[tuple[str, Any, Any], ...] = (
    ("max_connections", validate.max_connections, DEFAULT_MAX_CONNECTIONS),
    ("timeout", validate.mta_timeout, DEFAULT_TIMEOUT),
    ("rate_limit_per_minute", validate.rate_limit, 0),
)


def bounded(mta: Mta) -> list[str]:
    """Make a row read from the store safe to deliver through, in place: a
    value outside its field's range (written by a script or by hand: ``mta
    add``/``edit`` refuse it) counts as that field's default, as the delivery
    policy's values do — a max connections of 10**9 would make as many slot
    rows, a timeout of -5 fail every message at once. Returns the fields
    replaced, for the worker to say so."""
    replaced = []
    for name, rule, default in _BOUNDED:
        try:
            ok = rule(getattr(mta, name)) == getattr(mta, name)
        except (ValidationError, TypeError, ValueError):
            ok = False
        if not ok:
            setattr(mta, name, default)
            replaced.append(name)
    return replaced


def config_for(mta: Mta, vault: Vault | None = None) -> MtaConfig:
    """The session settings of a saved MTA, with its password (or OAuth2 client secret) decrypted."""
    password = secret = None
    xoauth2 = mta.auth_mechanism == AuthMechanism.XOAUTH2.value
    if mta.use_auth and not xoauth2 and mta.password_enc:
        password = (vault or Vault.load(create=False)).decrypt(mta.password_enc)
    if mta.use_auth and xoauth2 and mta.oauth_secret_enc:
        secret = (vault or Vault.load(create=False)).decrypt(mta.oauth_secret_enc)
    return MtaConfig(
        host=mta.host,
        port=mta.port,
        security=Security(mta.security),
        use_auth=mta.use_auth,
        username=mta.username,
        password=password,
        verify_tls=mta.verify_tls,
        timeout=mta.timeout,
        id=mta.id,
        description=mta.description,
        pipelining=mta.pipelining,
        ehlo_name=mta.ehlo_name,
        auth_mechanism=AuthMechanism(mta.auth_mechanism),
        oauth_token_url=mta.oauth_token_url if xoauth2 else None,
        oauth_client_id=mta.oauth_client_id if xoauth2 else None,
        oauth_scope=mta.oauth_scope if xoauth2 else None,
        oauth_secret=secret,
    )


def cleartext_auth_warning(security: Security | str, use_auth: bool, username: str | None) -> str | None:
    """The warning for an MTA that would send AUTH in clear text (a username
    and no TLS), or None. The one rule for ``mta add``/``mta edit``, the form
    and the Test."""
    if use_auth and username and Security(security) == Security.NONE:
        return CLEARTEXT_AUTH
    return None


def to_dict(mta: Mta) -> dict[str, Any]:
    """The public view of an MTA (``mta list --json``): never a password or a client secret."""
    return {
        "id": mta.id,
        "description": mta.description,
        "host": mta.host,
        "port": mta.port,
        "security": mta.security,
        "use_auth": mta.use_auth,
        "username": mta.username,
        "max_connections": mta.max_connections,
        "enabled": mta.enabled,
        "verify_tls": mta.verify_tls,
        "timeout": mta.timeout,
        "rate_limit_per_minute": mta.rate_limit_per_minute,
        "ehlo_name": mta.ehlo_name,
        "auth_mechanism": mta.auth_mechanism,
        "pipelining": mta.pipelining,
        "oauth_token_url": mta.oauth_token_url,
        "oauth_client_id": mta.oauth_client_id,
        "oauth_scope": mta.oauth_scope,
        "last_success_at": iso(mta.last_success_at),
        "last_error": mta.last_error,
        "last_error_at": iso(mta.last_error_at),
        "consecutive_failures": mta.consecutive_failures,
        "last_contact_at": iso(mta.last_contact_at),
        "last_contact_result": mta.last_contact_result,
        "sent_count": mta.sent_count,
    }


def _optional(value: str | None, stored: str | None) -> str | None:
    """A text left out (None) is the stored one; an empty one clears it."""
    if value is None:
        return stored
    return value.strip() or None


def draft_config(
    stored: Mta | None = None,
    *,
    host: str,
    port: int | str | None = None,
    security: Security = Security.NONE,
    use_auth: bool | None = None,
    username: str | None = None,
    password: str | None = None,
    verify_tls: bool = True,
    timeout: float | str | None = None,
    description: str = "",
    ehlo_name: str | None = None,
    auth_mechanism: AuthMechanism | str | None = None,
    pipelining: bool | None = None,
    oauth_token_url: str | None = None,
    oauth_client_id: str | None = None,
    oauth_scope: str | None = None,
    oauth_secret: str | None = None,
    vault: Vault | None = None,
) -> MtaConfig:
    """The connection as typed (in the form, or ``mta add`` / ``mta test --host``),
    validated, to save or only to test; ``stored`` is the MTA being edited, if any.

    A port left empty follows the mode. Authentication is on when ``use_auth``
    says so (None: when a username is given), and then needs a password — or,
    with the ``xoauth2`` mechanism, a token URL, a client id and a client
    secret: a secret left empty is the stored one, when ``stored`` has one. A
    value left out (None) is the stored one, else the default. The draft has
    no id: a test of it does not count in the health of the stored MTA, whose
    values it may not have.
    """
    hostname = validate.host(host)
    the_port = DEFAULT_PORTS[security] if port in (None, "") else validate.port(port)
    lg = login(
        stored,
        use_auth=use_auth,
        username=username,
        password=password,
        auth_mechanism=auth_mechanism,
        oauth_token_url=oauth_token_url,
        oauth_client_id=oauth_client_id,
        oauth_scope=oauth_scope,
        oauth_secret=oauth_secret,
    )
    xoauth2 = lg.use_auth and lg.mechanism == AuthMechanism.XOAUTH2
    secret = lg.password
    if lg.use_auth and not xoauth2 and secret is None:
        assert stored is not None and stored.password_enc  # login() required one
        secret = (vault or Vault.load(create=False)).decrypt(stored.password_enc)
    oauth = dict(lg.oauth)
    if xoauth2 and oauth["oauth_secret"] is None:
        assert stored is not None and stored.oauth_secret_enc  # oauth_values() required one
        oauth["oauth_secret"] = (vault or Vault.load(create=False)).decrypt(stored.oauth_secret_enc)
    if timeout is None:
        timeout = stored.timeout if stored is not None else DEFAULT_TIMEOUT
    ehlo = validate.ehlo_name(_optional(ehlo_name, stored.ehlo_name if stored is not None else None))
    if pipelining is None:
        pipelining = stored.pipelining if stored is not None else True
    return MtaConfig(
        host=hostname,
        port=the_port,
        security=security,
        use_auth=lg.use_auth,
        username=lg.username,
        password=secret if lg.use_auth and not xoauth2 else None,
        verify_tls=verify_tls,
        timeout=validate.mta_timeout(timeout),
        description=description.strip(),
        pipelining=pipelining,
        ehlo_name=ehlo,
        auth_mechanism=lg.mechanism,
        **oauth,
    )


@dataclass(frozen=True)
class Login:
    """How an MTA logs in, as given and checked against the stored MTA (if any)."""

    use_auth: bool
    username: str | None  # None when authentication is off
    mechanism: AuthMechanism
    password: str | None  # a new password given; None: the stored one stays (or none, auth off / xoauth2)
    oauth: dict[str, Any]  # xoauth2's settings (``oauth_values``), else empty


USERNAME_REQUIRED = "Username is required when User/Pass Authorization is on."


def login(
    stored: Mta | None,
    *,
    use_auth: bool | None,
    username: str | None,
    password: str | None,
    auth_mechanism: AuthMechanism | str | None,
    oauth_token_url: str | None,
    oauth_client_id: str | None,
    oauth_scope: str | None,
    oauth_secret: str | None,
) -> Login:
    """The one place of the login rules, for a new MTA, an edit and a draft to test.

    A value left out (None) is the stored one. Authentication is on when
    ``use_auth`` says so; left out, when a username is given, else as stored.
    It then needs a username and a password — or, with the ``xoauth2``
    mechanism, a token URL, a client id and a client secret (``oauth_values``);
    a password or secret left empty is the stored one, when there is one.
    """
    if auth_mechanism is None:
        mechanism = AuthMechanism(stored.auth_mechanism) if stored is not None else AuthMechanism.AUTO
    else:
        mechanism = validate.auth_mechanism(str(auth_mechanism))
    if use_auth is not None:
        auth = use_auth
    else:
        auth = bool(username and username.strip()) or (stored is not None and stored.use_auth)
    if not auth:
        return Login(False, None, mechanism, None, {})
    name = username if username is not None else (stored.username if stored is not None else None)
    if not (name or "").strip():
        raise ValidationError(validate.USERNAME, USERNAME_REQUIRED)
    user = validate.username(name or "")
    if mechanism == AuthMechanism.XOAUTH2:
        oauth = oauth_values(stored, oauth_token_url, oauth_client_id, oauth_scope, oauth_secret or password)
        return Login(True, user, mechanism, None, oauth)
    secret = validate.secret(password) if password else None
    if secret is None and not (stored is not None and stored.password_enc):
        raise ValidationError(validate.PASSWORD, PASSWORD_REQUIRED)
    return Login(True, user, mechanism, secret, {})


def oauth_values(
    stored: Mta | None,
    token_url: str | None,
    client_id: str | None,
    scope: str | None,
    secret: str | None,
) -> dict[str, Any]:
    """The XOAUTH2 settings checked, each given or else stored; the scope
    defaults to Microsoft 365's. ``oauth_secret`` is None when the stored
    (encrypted) one stays; with none stored, a secret is required."""
    url = _optional(token_url, stored.oauth_token_url if stored is not None else None)
    if not url:
        raise ValidationError(validate.OAUTH_TOKEN_URL, "Token URL is required with the xoauth2 mechanism.")
    client = _optional(client_id, stored.oauth_client_id if stored is not None else None)
    if not client:
        raise ValidationError(validate.OAUTH_CLIENT_ID, "Client ID is required with the xoauth2 mechanism.")
    the_scope = _optional(scope, stored.oauth_scope if stored is not None else None) or DEFAULT_OAUTH_SCOPE
    the_secret = validate.secret(secret, validate.OAUTH_SECRET) if secret else None
    if the_secret is None and not (stored is not None and stored.oauth_secret_enc):
        raise ValidationError(validate.OAUTH_SECRET, "Client secret is required with the xoauth2 mechanism.")
    return {
        "oauth_token_url": validate.token_url(url),
        "oauth_client_id": validate.short_text(client, validate.OAUTH_CLIENT_ID, 255),
        "oauth_scope": validate.short_text(the_scope, validate.OAUTH_SCOPE, 1000),
        "oauth_secret": the_secret,
    }
