"""What every command shares: the store handle, error handling, JSON output, secrets."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Mapping
from typing import Any, NoReturn

import click
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ertui import validate
from ertui.errors import ErtuiError, ValidationError, store_failure
from ertui.termsafe import terminal_safe


class Obj:
    """The context object: the store URL, and its engine made on first use."""

    def __init__(self, db_url: str | None) -> None:
        self.db_url = db_url
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from ertui.store.engine import make_engine

            self._engine = make_engine(self.db_url)
        return self._engine


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"ertui: {terminal_safe(message)}", err=True)  # it may quote text from outside
    sys.exit(code)


class ErtuiGroup(click.Group):
    """The top-level group: loads subcommands lazily (``lazy``: command name ->
    the modules whose ``register(group)`` adds it), turns expected errors into
    one sentence and an exit code."""

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, ...]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            for module_name in self.lazy.get(cmd_name, ()):
                importlib.import_module(module_name).register(self)
        return super().get_command(ctx, cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for i, arg in enumerate(args):
            if not arg.isascii() and not _encodable(arg):
                where = (
                    f"the value of {args[i - 1]}"
                    if i and args[i - 1].startswith("--")
                    else (f"the argument {arg.encode('utf-8', 'replace').decode()!r}")
                )
                fail(f"{where} is not UTF-8 text; ertui reads UTF-8 only.", 2)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ErtuiError as exc:
            fail(str(exc), exc.exit_code)
        except SQLAlchemyError as exc:
            fail(store_failure(exc))
        except KeyboardInterrupt:
            fail("interrupted.", 130)


def confirm(question: str, what: str, undone: str = "nothing removed.") -> None:
    """Ask before a removal; without a terminal, refuse (exit 2): use --yes."""
    if not sys.stdin.isatty():
        fail(f"refusing to {what} without --yes (stdin is not a terminal).", 2)
    if not click.confirm(question):
        fail(undone, 1)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def engine(ctx: click.Context) -> Engine:
    obj = ctx.find_object(Obj)
    assert obj is not None
    return obj.engine


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def read_secret(from_stdin: bool, prompt: str = "Password") -> str | None:
    """A password from stdin (``--password-stdin``) or a no-echo prompt on a terminal.

    There is deliberately no ``--password`` option: argv is visible to every
    user of the box. ``--password-stdin`` with stdin at a terminal prompts
    without echo too: read as a line, the password would show on the screen.
    """
    if from_stdin and not sys.stdin.isatty():
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:  # e.g. `echo "$UNSET" | …`: a mistake, never "no password"
            raise ValidationError(validate.PASSWORD, "Password is empty: --password-stdin read nothing.")
        return value
    if sys.stdin.isatty():
        value = click.prompt(prompt, hide_input=True, default="", show_default=False)
        return str(value) or None
    return None
