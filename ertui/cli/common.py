"""What every command shares: the store handle, error handling, JSON output, secrets."""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click
from click.exceptions import NoArgsIsHelpError

from ertui import config, validate
from ertui.errors import ErtuiError, Field, ValidationError, store_failure
from ertui.termsafe import terminal_safe

if TYPE_CHECKING:  # SQLAlchemy loads only for a command that opens the store
    from sqlalchemy.engine import Engine


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
            # Said on the terminal (the console, which holds stderr, shows it and
            # prints it when it closes): the key file is warned about at most once.
            if not os.environ.get(config.ENV_SECRET_KEY):
                config.warn_if_shared(config.key_file_path(), "secret key file")
        return self._engine


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"ertui: {terminal_safe(message)}", err=True)  # it may quote text from outside
    sys.exit(code)


# No option or argument is longer than this (a path is at most 4,096 bytes on
# Linux; every field has its own, shorter, rule in ertui.validate) …
MAX_ARG_LEN = 4096
# … except the text of a message body (argv itself limits it to 128 KiB).
LONG_OPTIONS = ("--body",)


class ErtuiGroup(click.Group):
    """The top-level group: loads subcommands lazily (``lazy``: command name ->
    the modules whose ``register(group)`` adds it), turns expected errors into
    one sentence and an exit code."""

    def __init__(
        self,
        *args: Any,
        lazy: Mapping[str, tuple[str, ...]] | None = None,
        lazy_help: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self.lazy_help = dict(lazy_help or {})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """`ertui --help` lists the commands from their one-line help here, so that
        it loads none of them (nor SQLAlchemy, Textual or the SMTP stack)."""
        rows = [(name, self.lazy_help.get(name, "")) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            for module_name in self.lazy.get(cmd_name, ()):
                importlib.import_module(module_name).register(self)
        return super().get_command(ctx, cmd_name)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's own errors (usage, a bad value, an unknown option, a missing
        argument, an aborted prompt) as one ``ertui: …`` sentence, exit 2 (1 for
        an abort), instead of click's three lines."""
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:  # `ertui queue`: the group's help, as click gives it
            if exc.ctx is not None:
                click.echo(exc.ctx.get_help(), err=True)
            sys.exit(2)
        except click.UsageError as exc:
            fail(usage_sentence(exc), 2)
        except click.ClickException as exc:
            fail(_one_line(exc.format_message()), exc.exit_code)
        except (click.Abort, EOFError):
            fail("aborted: nothing was changed.", 1)
        except UnicodeDecodeError:  # typed at a prompt (a terminal in another encoding)
            fail("the text typed is not valid UTF-8; ertui reads UTF-8 only.", 2)
        except KeyboardInterrupt:
            fail("interrupted.", 130)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for i, arg in enumerate(args):
            if not arg.isascii() and not _encodable(arg):
                fail(f"{_where(args, i)} is not valid UTF-8; ertui reads UTF-8 only.", 2)
            long_ok = arg.startswith(LONG_OPTIONS) or (i > 0 and args[i - 1] in LONG_OPTIONS)
            if len(arg) > MAX_ARG_LEN and not long_ok:
                fail(f"{_where(args, i)} is {len(arg):,} characters long; at most {MAX_ARG_LEN:,} are taken.", 2)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ErtuiError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted.", 130)
        except Exception as exc:
            sa_exc = sys.modules.get("sqlalchemy.exc")  # loaded if the command opened the store
            if sa_exc is not None and isinstance(exc, sa_exc.SQLAlchemyError):
                fail(store_failure(exc))
            raise


def not_empty(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """An option given with an empty value (``--port ''``) is a mistake, never
    "the default": leave the option out for that."""
    if isinstance(value, str) and not value.strip():
        raise click.BadParameter("must not be empty (leave the option out for its default).")
    return value


def usage_sentence(exc: click.UsageError) -> str:
    """Click's usage error as one sentence: the command, the option and the rule."""
    text = _LONG_QUOTED.sub(lambda m: f"{m.group(1)}{m.group(2)[:40]}…{m.group(1)}", _one_line(exc.format_message()))
    ctx = exc.ctx
    path = ctx.command_path if ctx is not None else ""
    command = path.split(" ", 1)[1] if " " in path else ""
    return f"{command}: {text}" if command else text


_LONG_QUOTED = re.compile(r"(['\"])([^'\"]{41,})\1")


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if line.endswith((".", "?", "!")) else line + "."


def _where(args: list[str], i: int) -> str:
    """Which option or argument ``args[i]`` is, said without its bad bytes."""
    arg = args[i]
    if arg.startswith("-") and "=" in arg:
        return f"the value of {arg.split('=', 1)[0]}"
    if arg.startswith("-"):
        return f"the option {_shown(arg)!r}"
    if i and args[i - 1].startswith("--") and "=" not in args[i - 1]:
        return f"the value of {args[i - 1]}"
    return f"argument {i + 1} ({_shown(arg)!r})"


def _shown(arg: str, most: int = 40) -> str:
    """An argument as it can be printed: undecodable bytes as escapes, cut with …"""
    text = os.fsencode(arg).decode("ascii", "backslashreplace")
    return text if len(text) <= most else text[: most - 1] + "…"


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


# The most a file or stdin may hold (a body, a list of recipients): /dev/zero,
# `yes |` or a wrong file would otherwise be read until memory runs out. Mail
# servers refuse messages far smaller (25-35 MB is usual).
MAX_INPUT_BYTES = 32 * 1024 * 1024
# … and one line of it (a password, a token: their own rules are far shorter).
MAX_LINE_BYTES = 64 * 1024


def read_stdin_line(field: Field, option: str) -> str:
    """One line of stdin (without its line end), strictly UTF-8: bytes that are
    not say which field and option read them (exit 2), never a traceback."""
    data = sys.stdin.buffer.readline(MAX_LINE_BYTES + 1)  # `tr -d '\n' </dev/zero |` ends too
    if len(data.rstrip(b"\r\n")) > MAX_LINE_BYTES:
        raise ValidationError(field, f"{field.label} ({option} read) is longer than {MAX_LINE_BYTES:,} bytes.")
    return decode_utf8(data.rstrip(b"\r\n"), field, f"{option} read")


def read_stdin_all(field: Field, what: str = "stdin") -> str:
    """All of stdin (at most ``MAX_INPUT_BYTES``), strictly UTF-8."""
    return decode_utf8(_bounded(sys.stdin.buffer.read(MAX_INPUT_BYTES + 1), field, what), field, what)


def _bounded(data: bytes, field: Field, what: str) -> bytes:
    if len(data) > MAX_INPUT_BYTES:
        most = MAX_INPUT_BYTES // (1024 * 1024)
        raise ValidationError(
            field, f"{field.label} ({what}) is larger than {most} MiB; ertui reads at most {most} MiB."
        )
    return data


def decode_utf8(data: bytes, field: Field, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            field, f"{field.label} ({what}) is not valid UTF-8 (byte {exc.start + 1}); ertui reads UTF-8 only."
        ) from None


def read_file(path: str, field: Field, option: str) -> str:
    """A text file named by an option (at most ``MAX_INPUT_BYTES``), strictly UTF-8; a file that cannot be
    read (missing, a folder, no permission, an I/O error) is one sentence, exit 1."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise ErtuiError(f"{option} {terminal_path(path)} cannot be read: {reason}.") from None
    what = f"{option} {terminal_path(path)}"
    return decode_utf8(_bounded(data, field, what), field, what)


def terminal_path(path: str) -> str:
    """A path as it can be printed: undecodable bytes shown as escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def read_secret(from_stdin: bool, prompt: str = "Password", field: Field = validate.PASSWORD) -> str | None:
    """A password from stdin (``--password-stdin``) or a no-echo prompt on a terminal.

    There is deliberately no ``--password`` option: argv is visible to every
    user of the box. ``--password-stdin`` with stdin at a terminal prompts
    without echo too: read as a line, the password would show on the screen.
    """
    if from_stdin and not sys.stdin.isatty():
        value = read_stdin_line(field, "--password-stdin")
        if not value:  # e.g. `echo "$UNSET" | …`: a mistake, never "no password"
            raise ValidationError(field, f"{field.label} is empty: --password-stdin read nothing.")
        return validate.secret(value, field)
    if sys.stdin.isatty():
        value = click.prompt(prompt, hide_input=True, default="", show_default=False)
        return validate.secret(str(value), field) or None
    return None
