"""Bad input on the commands of the last session, tried as an attacker and an
unlucky operator would: each is one sentence naming the option and its rule,
exit 2 (3 for the Nagios check), no traceback, and nothing written."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

from ertui import queue
from ertui.cli import cli

HUGE_AGES = ("999999999w", "99999999d", "999999999", "9999999999999999999999s", "3651d", "99999999.5d")


def invoke(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args])


def contents(engine: Engine) -> dict[str, list[Any]]:
    """Every row of every table: what a refused command must leave as it was."""
    meta = MetaData()
    with warnings.catch_warnings():  # an expression index is not reflected: no matter here
        warnings.simplefilter("ignore")
        meta.reflect(engine)
    with engine.connect() as conn:
        return {name: sorted(map(repr, conn.execute(select(t)).all())) for name, t in meta.tables.items()}


def refused(out: Result, option: str, code: int = 2) -> None:
    assert out.exception is None or isinstance(out.exception, SystemExit), out.exception
    assert out.exit_code == code, out.output
    assert "Traceback" not in out.output
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and option in lines[0], out.output


AGE_OPTIONS = [
    (["queue", "retry", "--older-than"], "--older-than"),
    (["queue", "hold", "--dry-run", "--older-than"], "--older-than"),
    (["queue", "release", "--json", "--older-than"], "--older-than"),
    (["queue", "delete", "--yes", "--older-than"], "--older-than"),
    (["log", "--since"], "--since"),
    (["audit", "--since"], "--since"),
    (["policy", "set", "--first-retry"], "First retry delay"),
    (["policy", "set", "--max-retry"], "Maximum retry delay"),
    (["policy", "set", "--lifetime"], "Message lifetime"),
    (["policy", "set", "--mta-cooldown"], "MTA cooldown"),
    (["retention", "set", "--keep-sent"], "Keep sent"),
    (["retention", "set", "--keep-failed"], "Keep failed"),
]


@pytest.mark.parametrize("age", HUGE_AGES)
@pytest.mark.parametrize(("args", "option"), AGE_OPTIONS, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_an_age_too_large_for_a_date_is_one_sentence_and_writes_nothing(
    ready: Engine, db_url: str, args: list[str], option: str, age: str
) -> None:
    """``999999999w`` overflowed a timedelta and ``99999999d`` a date once taken
    from now: a traceback on every option that reads an age."""
    queue.enqueue(ready, ["a@slow.example"], "Hi", "x")
    before = contents(ready)
    refused(invoke(db_url, *args, age), option)
    assert contents(ready) == before


@pytest.mark.parametrize("age", HUGE_AGES)
def test_the_nagios_check_says_unknown_for_an_age_too_large(db_url: str, age: str) -> None:
    for option in ("--warn-age", "--crit-age"):
        out = invoke(db_url, "check", option, age)
        assert out.exit_code == 3 and "Traceback" not in out.output, out.output
        assert out.output.startswith("ERTUI UNKNOWN") and option in out.output


@pytest.mark.parametrize("age", ["0", "0s", "0m", "000d"])
def test_older_than_zero_is_refused_as_such(ready: Engine, db_url: str, age: str) -> None:
    """0 matches every message: it was taken as no filter at all, and the
    operator was told to give one (after giving it)."""
    queue.enqueue(ready, ["a@x.example"], "Hi", "x")
    before = contents(ready)
    out = invoke(db_url, "queue", "delete", "--yes", "--older-than", age)
    refused(out, "--older-than")
    assert "1s" in out.output
    assert contents(ready) == before


def test_the_longest_age_is_still_taken(ready: Engine, db_url: str) -> None:
    queue.enqueue(ready, ["a@x.example"], "Hi", "x")
    out = invoke(db_url, "queue", "hold", "--dry-run", "--older-than", "3650d")
    assert out.exit_code == 0 and out.output.startswith("0 message(s) would be held."), out.output
    assert invoke(db_url, "log", "--since", "3650d").exit_code == 0
    assert invoke(db_url, "audit", "--since", "520w").exit_code == 0
