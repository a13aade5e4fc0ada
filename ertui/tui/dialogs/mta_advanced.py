"""The Advanced section of Add New MTA / Edit MTA (a ``Collapsible`` below the
web page's fields): Timeout, Rate limit, EHLO name, Auth mechanism,
Pipelining and — with XOAUTH2 — the OAuth2 client's Token URL, Client ID,
Client secret and Scope, which take the Password's place.

Collapsed for a new MTA, and for a saved one whose values are all the
defaults; open when one differs. The checks are the core's (``validate``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Collapsible, Input, Select, Switch

from ertui import validate
from ertui.mta_rules import DEFAULT_OAUTH_SCOPE, DEFAULT_TIMEOUT, AuthMechanism
from ertui.store.models import Mta
from ertui.tui.widgets.form_rows import FieldError, form_row
from ertui.tui.widgets.teardown import FormSelect

STORED_SECRET_HINT = "●●●●●●●● stored; leave empty to keep it"
# The field of each of the core's sentences on this section (by the field's label).
FIELD_IDS = {
    validate.TIMEOUT.label: "timeout",
    validate.RATE_LIMIT.label: "rate_limit",
    validate.EHLO_NAME.label: "ehlo_name",
    validate.AUTH_MECHANISM.label: "auth_mechanism",
    validate.OAUTH_TOKEN_URL.label: "oauth_token_url",
    validate.OAUTH_CLIENT_ID.label: "oauth_client_id",
    validate.OAUTH_SCOPE.label: "oauth_scope",
    validate.OAUTH_SECRET.label: "oauth_secret",
}
CHECKS: dict[str, Callable[[str], object]] = {
    "timeout": validate.mta_timeout,
    "rate_limit": lambda value: validate.rate_limit(value) if value.strip() else None,
    "ehlo_name": validate.ehlo_name,
}


def _timeout_text(seconds: float) -> str:
    return f"{seconds:g}"


def differs(mta: Mta | None) -> bool:
    """Whether a value of the section is not its default (then it starts open)."""
    if mta is None:
        return False
    return (
        mta.timeout != DEFAULT_TIMEOUT
        or mta.rate_limit_per_minute != 0
        or bool(mta.ehlo_name)
        or mta.auth_mechanism != AuthMechanism.AUTO.value
        or not mta.pipelining
    )


def _input(value: str, field_id: str, most: int, **kw: Any) -> Input:
    return Input(value, compact=True, id=field_id, max_length=most, **kw)


def compose_advanced(m: Mta | None, host_name: str) -> Iterator[Widget]:
    """The section, for the form's ``compose`` (``yield from``)."""
    mechanism = AuthMechanism(m.auth_mechanism) if m else AuthMechanism.AUTO
    with Collapsible(title="Advanced", collapsed=not differs(m), id="advanced"):
        timeout = _timeout_text(m.timeout if m else DEFAULT_TIMEOUT)
        yield form_row("Timeout (seconds)", _input(timeout, "timeout", 5, restrict=r"[0-9.]*"))
        yield FieldError("timeout")
        rate = str(m.rate_limit_per_minute) if m else "0"
        yield form_row(
            "Rate limit (per minute)", _input(rate, "rate_limit", 6, restrict=r"[0-9]*", placeholder="0: none")
        )
        yield FieldError("rate_limit")
        default_name = f"default: {host_name}" if host_name else "default: the master server host name"
        ehlo = (m.ehlo_name or "") if m else ""
        yield form_row("EHLO name", _input(ehlo, "ehlo_name", validate.MAX_HOST_LEN, placeholder=default_name))
        yield FieldError("ehlo_name")
        options = [(a.label, a.value) for a in AuthMechanism]
        choice = FormSelect(options, allow_blank=False, value=mechanism.value, id="auth_mechanism", compact=True)
        yield form_row("Auth mechanism", choice)
        yield FieldError("auth_mechanism")
        yield form_row("Pipelining", Switch(m.pipelining if m else True, id="pipelining"))
        with Vertical(id="oauth-fields"):
            url = (m.oauth_token_url or "") if m else ""
            yield form_row(
                "Token URL", _input(url, "oauth_token_url", 2000, placeholder="https://login.microsoftonline.com/…")
            )
            yield FieldError("oauth_token_url")
            yield form_row("Client ID", _input((m.oauth_client_id or "") if m else "", "oauth_client_id", 255))
            yield FieldError("oauth_client_id")
            hint = STORED_SECRET_HINT if m and m.oauth_secret_enc else ""
            yield form_row(
                "Client secret",
                _input("", "oauth_secret", validate.MAX_SECRET_LEN, password=True, placeholder=hint),
            )
            yield FieldError("oauth_secret")
            scope = (m.oauth_scope or DEFAULT_OAUTH_SCOPE) if m else DEFAULT_OAUTH_SCOPE
            yield form_row("Scope", _input(scope, "oauth_scope", 1000))
            yield FieldError("oauth_scope")


def mechanism_of(screen: Widget) -> AuthMechanism:
    """The mechanism chosen (Auto while the section is not there: a form being
    built or torn down, keys typed ahead)."""
    for choice in screen.query("#auth_mechanism").results(Select):
        if isinstance(choice.value, str):
            return AuthMechanism(choice.value)
    return AuthMechanism.AUTO


def values(screen: Widget) -> dict[str, Any]:
    """The section's values as ``mtas.draft_config`` / ``add`` / ``edit`` take them
    (an empty client secret: the stored one is kept)."""

    def text(field_id: str) -> str:
        return screen.query_one(f"#{field_id}", Input).value

    oauth = mechanism_of(screen) == AuthMechanism.XOAUTH2
    return {
        "timeout": text("timeout").strip() or DEFAULT_TIMEOUT,
        "ehlo_name": text("ehlo_name"),
        "auth_mechanism": mechanism_of(screen),
        "pipelining": screen.query_one("#pipelining", Switch).value,
        "oauth_token_url": text("oauth_token_url") if oauth else None,
        "oauth_client_id": text("oauth_client_id") if oauth else None,
        "oauth_scope": text("oauth_scope") if oauth else None,
        "oauth_secret": (text("oauth_secret") or None) if oauth else None,
    }


def rate_limit(screen: Widget) -> str | int:
    return screen.query_one("#rate_limit", Input).value.strip() or 0
