"""The MTA options shared by `mta add`, `mta edit`, `mta test --host` and
`mta probe --host`: each option is declared once here. A command gets the
connection as one ``ConnectionFields`` and the session's fields as one
``SessionFields``, whose ``values()`` go unchanged to ``mtas.add``/``mtas.edit``
or to ``draft_config`` (the one place the rules live)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar, cast

import click

from ertui import validate
from ertui.cli.common import not_empty, read_secret
from ertui.errors import Field, ValidationError
from ertui.mta_rules import AuthMechanism, Security, security_from_flags

F = TypeVar("F", bound=Callable[..., Any])


def _flags(given: dict[str, Any]) -> list[str]:
    """The command-line names of the options given (a flag turned off: its --no- form)."""
    return [f"--{'no-' if value is False else ''}{name.replace('_', '-')}" for name, value in given.items()]


@dataclass(frozen=True)
class ConnectionFields:
    """The connection of a new MTA as given on the command line."""

    port: str | None = None
    ssl: bool = False
    starttls: bool = False
    username: str | None = None
    password_stdin: bool = False
    no_verify_tls: bool = False

    def given(self) -> list[str]:
        """The options given, by their command-line names."""
        return _flags({name: value for name, value in asdict(self).items() if value})

    @property
    def security(self) -> Security:
        return security_from_flags(self.ssl, self.starttls)


@dataclass(frozen=True)
class SessionFields:
    """How a session with the MTA goes, as given on the command line; None: left out."""

    ehlo_name: str | None = None
    auth_mechanism: str | None = None
    pipelining: bool | None = None
    oauth_token_url: str | None = None
    oauth_client_id: str | None = None
    oauth_scope: str | None = None

    def given(self) -> list[str]:
        """The options given, by their command-line names."""
        return _flags(self.values())

    def mechanism(self, default: str = AuthMechanism.AUTO.value) -> AuthMechanism:
        """The mechanism asked for (else ``default``), checked before any prompt."""
        return validate.auth_mechanism(self.auth_mechanism or default)

    def login(self, username: str | None) -> AuthMechanism:
        """For a new MTA (add, test/probe --host): the mechanism, checked; a
        mechanism other than auto or an OAuth2 option without --username would
        be dropped unseen (no login without a user), so it is refused."""
        mechanism = self.mechanism()
        if username is None or not username.strip():
            login = [flag for flag in self.given() if flag.startswith("--oauth-")]
            if mechanism != AuthMechanism.AUTO:
                login.insert(0, f"--auth-mechanism {mechanism.value}")
            if login:
                verb = "needs" if len(login) == 1 else "need"
                raise ValidationError(validate.USERNAME, f"{', '.join(login)} {verb} --username (the login).")
        self.check_oauth(True, mechanism)
        return mechanism

    def check_oauth(self, use_auth: bool, mechanism: AuthMechanism) -> None:
        """An --oauth-* option that the MTA's login will not use (no login, or a
        mechanism other than xoauth2) is refused, never dropped unseen."""
        given = [flag for flag in self.given() if flag.startswith("--oauth-")]
        if not given or (use_auth and mechanism == AuthMechanism.XOAUTH2):
            return
        why = f"the mechanism is {mechanism.value}" if use_auth else "User/Pass Authorization is off"
        verb = "goes" if len(given) == 1 else "go"
        raise ValidationError(
            validate.OAUTH_TOKEN_URL, f"{', '.join(given)} {verb} with --auth-mechanism xoauth2 only ({why})."
        )

    def values(self) -> dict[str, Any]:
        """The fields given, as keywords of ``draft_config``, ``mtas.add`` and ``mtas.edit``."""
        return {name: value for name, value in asdict(self).items() if value is not None}


def _gathered(f: F, into: str, build: Callable[[dict[str, Any]], object], names: Sequence[str]) -> F:
    """``f`` called with the options ``names`` gathered by ``build`` into one keyword, ``into``."""

    @functools.wraps(f)
    def command(*args: Any, **kwargs: Any) -> Any:
        taken = {name: kwargs.pop(name) for name in names if name in kwargs}
        return f(*args, **kwargs, **{into: build(taken)})

    return cast(F, command)


def _apply(f: F, options: Sequence[Callable[[Any], Any]]) -> F:
    """The decorators in ``options`` put on ``f``, the first one on top."""
    for option in reversed(options):
        f = option(f)
    return f


def connection_options(f: F) -> F:
    """The connection of a new MTA, for `mta add` and `mta test/probe --host`:
    --port, --ssl, --starttls, --username, --password-stdin, --no-verify-tls,
    given to the command as one ``conn: ConnectionFields``."""
    names = [field.name for field in fields(ConnectionFields)]
    return _apply(
        _gathered(f, "conn", lambda given: ConnectionFields(**given), names),
        [
            click.option(
                "--port",
                type=str,
                default=None,
                callback=not_empty,
                help="Port (default: 25, 465 with SSL, 587 with STARTTLS).",
            ),
            click.option("--ssl", is_flag=True, help="Implicit TLS (SSL), port 465 by default."),
            click.option("--starttls", is_flag=True, help="STARTTLS (must succeed), port 587 by default."),
            click.option("--username", default=None, help="Turns on User/Pass Authorization."),
            click.option(
                "--password-stdin",
                is_flag=True,
                help="Read the password (xoauth2: the client secret) from stdin (with --username).",
            ),
            click.option("--no-verify-tls", is_flag=True, help="Do not verify the server certificate."),
        ],
    )


def session_options(edit: bool = False) -> Callable[[F], F]:
    """The session's fields (the form's Advanced section), for add, edit, test
    and probe: --ehlo-name, --auth-mechanism, --no-pipelining (on edit
    --pipelining/--no-pipelining), --oauth-token-url, --oauth-client-id,
    --oauth-scope. The command gets them as one ``session: SessionFields``."""
    pipelining = (
        click.option("--pipelining/--no-pipelining", default=None, help="Use PIPELINING when the server offers it.")
        if edit
        else click.option("--no-pipelining", is_flag=True, help="Never use PIPELINING with this MTA.")
    )
    ehlo_help = (
        "Name sent in EHLO ('' on edit: the master host name)."
        if edit
        else "Name sent in EHLO (default: the master host name)."
    )
    options = [
        click.option("--ehlo-name", default=None, help=ehlo_help),
        click.option(
            "--auth-mechanism",
            default=None,
            callback=not_empty,
            help="auto (best offered), plain, login, cram-md5 or xoauth2.",
        ),
        pipelining,
        click.option("--oauth-token-url", default=None, help="xoauth2: the OAuth2 token endpoint (https)."),
        click.option("--oauth-client-id", default=None, help="xoauth2: the client id (secret: --password-stdin)."),
        click.option("--oauth-scope", default=None, help="xoauth2: the scope (default: Microsoft 365's)."),
    ]

    names = [*(field.name for field in fields(SessionFields)), "no_pipelining"]

    def build(given: dict[str, Any]) -> SessionFields:
        if given.pop("no_pipelining", False):
            given["pipelining"] = False
        return SessionFields(**given)

    def apply(f: F) -> F:
        return _apply(_gathered(f, "session", build, names), options)

    return apply


def relay_options(edit: bool) -> Callable[[F], F]:
    """What `mta add` and `mta edit` take beyond the session: --timeout and --rate-limit."""

    def apply(f: F) -> F:
        return _apply(
            f,
            [
                click.option(
                    "--timeout", type=str, default=None, callback=not_empty, help="Seconds, 1-300 (default 30)."
                ),
                click.option(
                    "--rate-limit", type=str, default=None, callback=not_empty, help="Messages/minute (0: none)."
                ),
                session_options(edit),
            ],
        )

    return apply


def secret_label(mechanism: AuthMechanism | str | None) -> tuple[str, Field]:
    """What --password-stdin or the prompt reads: the password, or the OAuth2 client secret."""
    name = mechanism.value if isinstance(mechanism, AuthMechanism) else mechanism
    if name is not None and name.strip().lower() == AuthMechanism.XOAUTH2.value:
        return "Client secret", validate.OAUTH_SECRET
    return "Password", validate.PASSWORD


def read_password(username: str | None, from_stdin: bool, mechanism: AuthMechanism | str | None = None) -> str | None:
    """The password (or client secret) that goes with --username: stdin or a no-echo prompt."""
    if from_stdin and not username:
        raise ValidationError(validate.PASSWORD, "--password-stdin needs --username.")
    prompt, field = secret_label(mechanism)
    return read_secret(from_stdin, prompt, field) if username else None
