"""Bad input on the command line: one `ertui: …` sentence, exit 2, nothing
written; undecodable bytes anywhere (argv, stdin, files) never a traceback."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine

from ertui import mtas, queue, settings
from ertui.cli import cli
from ertui.errors import ValidationError
from tests.delivery.conftest import ERTUI

BAD = os.fsdecode(b"sec\xffret")  # how Python hands undecodable argv bytes over


def invoke(db_url: str, *args: str, input: bytes | str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args], input=input)


def one_sentence(res: Result, code: int) -> str:
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output and "Usage:" not in res.stderr and "Try '" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ertui: "), res.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["queue", "show", "0"], "MESSAGE_ID"),
        (["queue", "show"], "Missing argument"),
        (["worker", "--log-level", "bogus"], "--log-level"),
        (["send", "--to", "a@example.com", "--subject", "s", "--body-file"], "--body-file"),
        (["queue", "list", "--bogus"], "--bogus"),
        (["--bogus"], "--bogus"),
        (["mta", "add", "--host", "a.example.com"], "--description"),
        (["queue", "list", "--limit", "x"], "--limit"),
        (["queue", "purge", "--sent-older-than", "soon"], "--sent-older-than"),
        (["nosuchcommand"], "nosuchcommand"),
        (["mta", "add", "--description", "R", "--host", "a.example.com", "--port", ""], "--port"),
        (
            ["mta", "add", "--description", "R", "--host", "a.example.com", "--max-connections", " "],
            "--max-connections",
        ),
        (["mta", "edit", "1", "--port", ""], "--port"),
    ],
)
def test_usage_errors_are_one_sentence_exit_2(db_url: str, args: list[str], words: str) -> None:
    assert words in one_sentence(invoke(db_url, *args), 2)


def test_empty_db_is_refused_and_opens_no_store(isolated_dirs: Path) -> None:
    res = CliRunner().invoke(cli, ["--db", "", "mta", "list"])
    assert "--db" in one_sentence(res, 2)
    assert not (isolated_dirs / "data").exists()


@pytest.fixture
def store(engine: Engine) -> Engine:
    settings.set_admin_email(engine, "admin@example.com")
    return engine


def test_search_has_a_length_limit(store: Engine, db_url: str) -> None:
    assert "--search" in one_sentence(invoke(db_url, "queue", "list", "--search", "x" * 100_000), 2)
    assert "Search" in one_sentence(invoke(db_url, "queue", "list", "--search", "x" * 4000), 2)
    with pytest.raises(ValidationError, match="Search must be at most 200"):
        queue.list_messages(store, search="y" * 201)  # the core's rule, for the console too
    assert "Search" in one_sentence(invoke(db_url, "queue", "list", "--search", "%_" * 1000), 2)
    assert invoke(db_url, "queue", "list", "--search", "x" * 200).exit_code == 0


@pytest.mark.parametrize("action", ["retry", "hold", "release", "delete"])
def test_actions_on_ids_that_do_not_exist_exit_1_and_name_them(store: Engine, db_url: str, action: str) -> None:
    (mid,) = queue.enqueue(store, "a@example.com", "s", "b")
    extra = ["--yes"] if action == "delete" else []
    line = one_sentence(invoke(db_url, "queue", action, str(mid), "77", "78", *extra), 1)
    assert "77, 78" in line and str(mid) + "," not in line
    line = one_sentence(invoke(db_url, "queue", action, "99", *extra), 1)
    assert "99" in line
    if action == "hold":
        assert queue.get_message(store, mid).status == "held"  # the existing one was done
    if action == "delete":
        assert queue.missing_ids(store, [mid]) == [mid]


@pytest.mark.parametrize(
    ("subject", "shown"),
    [
        ("a\x0bb", "\\x0b"),
        ("a\x0cb", "\\x0c"),
        ("a\tb", "\\t"),
        ("a\x1b[2Jb", "\\x1b"),
        ("a\x85b", "\\x85"),
        ("a\u2028b", "\\u2028"),
    ],
)
def test_every_control_character_in_a_subject_is_refused(store: Engine, db_url: str, subject: str, shown: str) -> None:
    line = one_sentence(invoke(db_url, "send", "--to", "a@example.com", "--subject", subject, "--body", "b"), 2)
    assert "Subject" in line and shown in line
    assert queue.count_messages(store, status="all") == 0


def test_control_characters_in_an_mta_description_or_username_are_refused(db_url: str) -> None:
    res = invoke(db_url, "mta", "add", "--description", "R\x0cx", "--host", "a.example.com")
    assert "Description" in one_sentence(res, 2)


@pytest.mark.parametrize("password", ["a\0bcdefgh", "abc\x1bdefgh", "abcd\x7fefgh", "abc\x0bdefgh"])
def test_control_characters_in_passwords_are_refused(engine: Engine, db_url: str, password: str) -> None:
    args = ["mta", "add", "--description", "R", "--host", "a.example.com", "--username", "u", "--password-stdin"]
    assert "Password" in one_sentence(invoke(db_url, *args, input=password + "\n"), 2)
    assert mtas.list_mtas(engine) == []
    res = invoke(db_url, "user", "add", "bob", "--password-stdin", input=password + "\n")
    assert "Password" in one_sentence(res, 2)


@pytest.mark.parametrize(
    ("args", "stdin", "field"),
    [
        (
            ["mta", "add", "--description", "R", "--host", "a.example.com", "--username", "u", "--password-stdin"],
            b"p\xff\n",
            "Password",
        ),
        (["user", "add", "bob", "--password-stdin"], b"pass\xffword\n", "Password"),
        (["user", "reset-password", "admin", "--token-stdin", "--password-stdin"], b"t\xff\npassword1\n", "Token"),
        (
            ["user", "reset-password", "admin", "--token-stdin", "--password-stdin"],
            b"token\npass\xffword\n",
            "Password",
        ),
        (["send", "--to", "a@example.com", "--subject", "s"], b"body \xff", "Body"),
        (
            ["mta", "test", "--host", "a.example.com", "--to", "a@example.com", "--username", "u", "--password-stdin"],
            b"\xff\n",
            "Password",
        ),
    ],
)
def test_undecodable_stdin_names_the_field_exit_2(
    store: Engine, db_url: str, args: list[str], stdin: bytes, field: str
) -> None:
    line = one_sentence(invoke(db_url, *args, input=stdin), 2)
    assert field in line and "UTF-8" in line


@pytest.mark.parametrize("target", ["/proc/self/mem", "missing", "folder", "unreadable", "latin1"])
def test_body_file_that_cannot_be_read_is_one_sentence(store: Engine, db_url: str, tmp_path: Path, target: str) -> None:
    path = {"missing": tmp_path / "nope.txt", "folder": tmp_path, "unreadable": tmp_path / "secret.txt"}.get(
        target, Path(target)
    )
    if target == "unreadable":
        path.write_text("x")
        path.chmod(0)
        if os.access(path, os.R_OK):
            pytest.skip("root reads any file")
    if target == "latin1":
        path = tmp_path / "latin1.txt"
        path.write_bytes(b"caf\xe9")
    res = invoke(db_url, "send", "--to", "a@example.com", "--subject", "s", "--body-file", str(path))
    line = one_sentence(res, 2 if target == "latin1" else 1)
    assert "--body-file" in line
    assert queue.count_messages(store, status="all") == 0


@pytest.mark.parametrize("where", ["folder", "missing-folder"])
def test_a_log_file_that_cannot_be_opened_is_one_sentence(
    store: Engine, db_url: str, tmp_path: Path, where: str
) -> None:
    target = tmp_path if where == "folder" else tmp_path / "no" / "worker.log"
    line = one_sentence(invoke(db_url, "worker", "--once", "--log-file", str(target)), 1)
    assert "--log-file" in line and "cannot be opened" in line
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    ("variable", "code"),
    [("ERTUI_DB", 2), ("ERTUI_SECRET_KEY", 1), ("ERTUI_MESSAGE_LIFETIME", 2), ("ERTUI_KEY_FILE", 0)],
)
def test_undecodable_environment_variables_never_traceback(
    store: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, code: int
) -> None:
    monkeypatch.setenv(variable, BAD if variable != "ERTUI_KEY_FILE" else os.fsdecode(bytes(tmp_path) + b"/k\xff"))
    args = ["mta", "add", "--description", "R", "--host", "a.example.com", "--username", "u", "--password-stdin"]
    runner_args = args if variable != "ERTUI_DB" else ["mta", "list"]
    if variable == "ERTUI_MESSAGE_LIFETIME":
        runner_args = ["send", "--to", "a@example.com", "--subject", "s", "--body", "b"]
    res = CliRunner().invoke(
        cli, ([] if variable == "ERTUI_DB" else ["--db", db_url]) + runner_args, input="pw-123456\n"
    )
    assert res.exit_code == code, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    if code:
        assert variable in one_sentence(res, code)


def test_undecodable_argv_in_a_real_process(store: Engine, db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    for argv in (
        [b"send", b"--to", b"a@example.com", b"--subject", b"caf\xe9", b"--body", b"b"],
        [b"send", b"--to", b"a@example.com", b"--subject=caf\xe9", b"--body", b"b"],
        [b"user", b"add", b"b\xffob"],
        [b"mta", b"edit", b"1", b"--host\xff", b"x"],
    ):
        res = subprocess.run([ERTUI, "--db", db_url, *argv], capture_output=True, env=env, timeout=60, check=False)
        err = res.stderr.decode()
        assert res.returncode == 2 and "Traceback" not in err and "UTF-8" in err, err
        assert len(err.strip().splitlines()) == 1
    assert queue.count_messages(store, status="all") == 0


# -- every command, with undecodable bytes in each argument and on stdin ----------------

GOOD = {
    "--to": "a@example.com",
    "--subject": "s",
    "--description": "d",
    "--host": "a.example.com",
    "--sent-older-than": "1",
    "--username": "u",
    "message_id": "1",
    "mta": "1",
    "username": "admin",
    "address": "a@example.com",
    "text": "Example Ops",
    "fqdn": "x.example.com",
    "ids": "1",
}
SKIP_RUN = {("demo",), (), ("serve",)}  # these open the console (serve: until Ctrl-C; tests/web runs it)


def _commands(group: click.Group, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


COMMANDS = sorted(_commands(cli, ()), key=lambda c: c[0])


def _required(cmd: click.Command, leave_out: str | None = None) -> list[str]:
    args: list[str] = []
    for p in cmd.params:
        if p.name == leave_out or not p.required:
            continue
        key = p.opts[0] if isinstance(p, click.Option) else str(p.name)
        if isinstance(p, click.Option):
            args += [key, GOOD[key]]
        else:
            args.append(GOOD[key])
    return args


def test_the_walk_finds_every_command() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"send", "queue retry", "mta add", "mta test", "user reset-password", "worker", "host set"} <= names


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_with_undecodable_bytes_never_tracebacks(
    store: Engine, db_url: str, path: tuple[str, ...], cmd: click.Command
) -> None:
    runs: list[list[str]] = []
    for p in cmd.params:
        if isinstance(p, click.Option) and not p.is_flag:
            runs.append([*path, *_required(cmd, p.name), p.opts[0], BAD])
            runs.append([*path, *_required(cmd, p.name), f"{p.opts[0]}={BAD}"])
        elif isinstance(p, click.Argument):
            runs.append([*path, *_required(cmd, p.name), BAD])
    for args in runs:
        line = one_sentence(invoke(db_url, *args), 2)
        assert "UTF-8" in line, args
    if path in SKIP_RUN:
        return
    flags = [p.opts[0] for p in cmd.params if isinstance(p, click.Option) and p.opts[0].endswith("-stdin")]
    extra = ["--once"] if path == ("worker",) else []
    res = invoke(db_url, *path, *_required(cmd), *flags, *extra, input=b"\xff\xfe bad \x80\n\xff\n")
    assert res.exit_code in (0, 1, 2), res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output


LONG = "x" * 100_000


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_free_text_value_has_a_length_limit(
    store: Engine, db_url: str, path: tuple[str, ...], cmd: click.Command
) -> None:
    """100,000 characters in any option or argument: a short sentence, exit 2 —
    never a database error, never the value echoed back whole."""
    for p in cmd.params:
        if isinstance(p, click.Option) and p.is_flag:
            continue
        opt = [p.opts[0], LONG] if isinstance(p, click.Option) else [LONG]
        if path == ("send",) and p.name == "body":
            continue  # a body may be long; argv itself is the limit
        args = [*path, *_required(cmd, p.name), *opt]
        if path == ("worker",):
            args.append("--once")
        res = invoke(db_url, *args, input=b"")
        assert res.exit_code == 2, (p.name, res.output[:300])
        assert len(res.stderr) < 400 and "Traceback" not in res.output, (p.name, res.stderr[:300])


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize(
    "args",
    [
        ["mta", "add", "--description", "R", "--host", "a.example.com", "--username", "u", "--password-stdin"],
        ["user", "add", "bob"],
    ],
)
def test_undecodable_bytes_typed_at_a_prompt_are_one_sentence(tmp_path: Path, db_url: str, args: list[str]) -> None:
    import select

    master, slave = os.openpty()
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONUTF8": "1"}
    proc = subprocess.Popen(
        [ERTUI, "--db", db_url, *args], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    screen = b""
    try:
        while b"assword" not in screen:
            ready, _, _ = select.select([master], [], [], 30)
            assert ready, screen
            screen += os.read(master, 4096)
        os.write(master, b"sec\xffret-long\n")
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
            if b"Repeat" in chunk:
                os.write(master, b"sec\xffret-long\n")
        assert proc.wait(30) == 2, screen
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    text = screen.decode("utf-8", "replace")
    assert "Traceback" not in text and "UTF-8" in text, text


@pytest.mark.parametrize("value", [BAD, "x" * 100_000, ""])
def test_the_store_option_itself(isolated_dirs: Path, value: str) -> None:
    for args in (["--db", value, "mta", "list"], [f"--db={value}", "mta", "list"]):
        line = one_sentence(CliRunner().invoke(cli, args), 2)
        assert "--db" in line
    assert not (isolated_dirs / "data").exists()
