"""`ertui send --to-file FILE` (and `-` for stdin): one address a line, comments
and blank lines skipped, added to any --to; a bad line names the address."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy.engine import Engine

from ertui import queue
from ertui.cli import cli


def test_recipients_from_a_file_and_from_stdin(ready: Engine, db_url: str, tmp_path: Path) -> None:
    listed = tmp_path / "rcpts.txt"
    listed.write_text("# the on-call list\none@example.com\n\n  two@example.com  \n", encoding="utf-8")
    out = CliRunner().invoke(
        cli,
        ["--db", db_url, "send", "--to", "zero@example.com", "--to-file", str(listed), "--subject", "S", "--body", "B"],
    )
    assert out.exit_code == 0, out.output
    assert len(out.output.split()) == 3
    got = {m.recipient for m in queue.list_messages(ready, status="all", limit=10)}
    assert got == {"zero@example.com", "one@example.com", "two@example.com"}
    piped = CliRunner().invoke(
        cli, ["--db", db_url, "send", "--to-file", "-", "--subject", "S", "--body", "B"], input="three@example.com\n"
    )
    assert piped.exit_code == 0 and queue.count_messages(ready, status="all") == 4


def test_bad_input_writes_nothing(ready: Engine, db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("ok@example.com\nnot an address\n", encoding="utf-8")
    cases = [
        ["--to-file", str(bad), "--subject", "S", "--body", "B"],
        ["--to-file", "-", "--subject", "S"],  # stdin cannot hold both
        ["--subject", "S", "--body", "B"],  # no recipient at all
        ["--to-file", str(tmp_path / "missing.txt"), "--subject", "S", "--body", "B"],
    ]
    codes = [
        CliRunner().invoke(cli, ["--db", db_url, "send", *args], input="x@example.com\n").exit_code for args in cases
    ]
    assert codes == [2, 2, 2, 1]
    assert queue.count_messages(ready, status="all") == 0
