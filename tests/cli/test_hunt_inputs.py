"""Bad input on the commands of the last session, tried as an attacker and an
unlucky operator would: each is one sentence naming the option and its rule,
exit 2 (3 for the Nagios check), no traceback, and nothing written."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import MetaData, insert, select
from sqlalchemy.engine import Engine

from ertui import mtas, queue, settings
from ertui.cli import cli
from ertui.cli.common import MAX_INPUT_BYTES
from ertui.delivery.settings import WorkerSettings
from ertui.errors import ValidationError
from ertui.service import notify
from ertui.store.models import Attempt
from ertui.timeutil import utcnow

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


# -- text that can match nothing stored, on SQLite and PostgreSQL ------------------

NO_MATCH = ["a\x00b", "\x1b[2J", "x\x9by", "a\u2028b"]


@pytest.mark.parametrize("word", NO_MATCH, ids=["nul", "esc", "c1", "line-sep"])
@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["log", "--mta"], "--mta"),
        (["log", "--domain"], "--domain"),
        (["queue", "list", "--search"], "Search"),
        (["queue", "hold", "--search"], "--search"),
        (["queue", "retry", "--dry-run", "--domain"], "--domain"),
        (["queue", "delete", "--yes", "--mta"], "--mta"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_a_filter_with_a_control_character_is_bad_input_on_every_store(
    any_engine: Engine, any_db_url: str, args: list[str], option: str, word: str
) -> None:
    """PostgreSQL cannot compare a NUL: `log --mta` and `queue list --search`
    said 'The store cannot be read or written' (exit 1) for a typo."""
    settings.set_admin_email(any_engine, "postmaster@example.org")
    queue.enqueue(any_engine, ["a@x.example"], "Hi", "x")
    before = contents(any_engine)
    refused(invoke(any_db_url, *args, word), option)
    assert contents(any_engine) == before


@pytest.mark.parametrize("command", [["mta", "edit"], ["mta", "remove"], ["mta", "enable"], ["mta", "probe"]])
def test_an_mta_named_with_a_nul_is_not_found_on_every_store(
    any_engine: Engine, any_db_url: str, command: list[str]
) -> None:
    mtas.add(any_engine, description="Relay", host="127.0.0.1")
    before = contents(any_engine)
    extra = ["--timeout", "5"] if command[-1] == "edit" else (["--yes"] if command[-1] == "remove" else [])
    out = invoke(any_db_url, *command, "Re\x00lay", *extra)
    assert out.exit_code == 1 and out.output == "ertui: There is no MTA with the id or description 'Re\\x00lay'.\n"
    assert contents(any_engine) == before


# -- options that conflict ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["mta", "edit", "Plain", "--oauth-client-id", "app-1"], "--oauth-client-id goes with"),
        (["mta", "edit", "Plain", "--oauth-token-url", "http://["], "(the mechanism is plain)"),
        (["mta", "edit", "Plain", "--no-auth", "--oauth-scope", "s"], "(User/Pass Authorization is off)"),
        (["mta", "edit", "Open", "--oauth-scope", "s", "--oauth-client-id", "c"], "-id, --oauth-scope go"),
        (["mta", "edit", "Open", "--auth-mechanism", "xoauth2", "--oauth-client-id", "c"], "Authorization is off"),
        (["mta", "add", "--description", "New", "--host", "127.0.0.1", "--username", "u", "--password-stdin",
          "--auth-mechanism", "login", "--oauth-client-id", "c"], "(the mechanism is login)"),
        (["mta", "probe", "--host", "127.0.0.1", "--username", "u", "--password-stdin", "--oauth-scope", "s"],
         "(the mechanism is auto)"),
    ],
)  # fmt: skip
def test_an_oauth_option_the_login_will_not_use_is_refused(
    ready: Engine, db_url: str, args: list[str], words: str
) -> None:
    """They were dropped unseen ('Saved', exit 0), even a Token URL that is no address."""
    mtas.add(ready, description="Open", host="127.0.0.1")
    mtas.add(ready, description="Plain", host="127.0.0.1", username="u", password="pw", auth_mechanism="plain")
    before = contents(ready)
    out = CliRunner().invoke(cli, ["--db", db_url, *args], input="pw\n")
    refused(out, words)
    assert contents(ready) == before


# -- input without end ---------------------------------------------------------------


class Endless(io.RawIOBase):
    """``size`` bytes of ``fill`` made as they are read, counting what was read:
    a stand-in for /dev/zero or ``yes |`` that cannot eat the test's memory."""

    def __init__(self, size: int, fill: bytes = b"a") -> None:
        self.left = size
        self.fill = fill
        self.read_so_far = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = self.fill * n
        self.left -= n
        self.read_so_far += n
        return n


TOO_MUCH = MAX_INPUT_BYTES + 8 * 1024 * 1024


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["send", "--to", "a@x.example", "--subject", "Hi"], "Body (read from stdin) is larger than 32 MiB"),
        (["send", "--to-file", "-", "--subject", "Hi", "--body", "x"], "To (--to-file -) is larger than 32 MiB"),
    ],
)
def test_stdin_is_read_up_to_a_bound(ready: Engine, db_url: str, args: list[str], words: str) -> None:
    """`yes | ertui send …` (or /dev/zero) was read until memory ran out."""
    source = Endless(TOO_MUCH)
    before = contents(ready)
    out = CliRunner().invoke(cli, ["--db", db_url, *args], input=io.BufferedReader(source))
    refused(out, words)
    assert source.read_so_far <= MAX_INPUT_BYTES + 1024 * 1024
    assert contents(ready) == before


@pytest.mark.parametrize("option", ["--body-file", "--to-file"])
def test_a_file_is_read_up_to_a_bound(ready: Engine, db_url: str, tmp_path: Path, option: str) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (MAX_INPUT_BYTES + 1))
    before = contents(ready)
    to = ["--to", "a@x.example"] if option == "--body-file" else ["--body", "x"]
    refused(invoke(db_url, "send", *to, "--subject", "Hi", option, str(big)), "is larger than 32 MiB")
    assert contents(ready) == before


@pytest.mark.parametrize(
    "args",
    [
        ["mta", "add", "--description", "R", "--host", "127.0.0.1", "--username", "u", "--password-stdin"],
        ["mta", "test", "--host", "127.0.0.1", "--to", "a@x.example", "--username", "u", "--password-stdin"],
    ],
)
def test_a_secret_line_is_read_up_to_a_bound(ready: Engine, db_url: str, args: list[str]) -> None:
    """`tr -d '\\n' </dev/zero | ertui mta add … --password-stdin` read one line without end."""
    source = Endless(TOO_MUCH)
    before = contents(ready)
    out = CliRunner().invoke(cli, ["--db", db_url, *args], input=io.BufferedReader(source))
    refused(out, "Password (--password-stdin read) is longer than 65,536 bytes")
    assert source.read_so_far <= 1024 * 1024
    assert contents(ready) == before


# -- numbers from the environment ------------------------------------------------------


@pytest.mark.parametrize("value", ["1e20", "1e308", "99999999999", "31536001", "-1", "nan"])
@pytest.mark.parametrize(
    "args", [["send", "--to", "a@x.example", "--subject", "Hi", "--body", "x"], ["policy", "show"], ["policy"]]
)
def test_a_message_lifetime_from_the_environment_out_of_range_is_one_sentence(
    ready: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, args: list[str], value: str
) -> None:
    """1e20 overflowed the expiry date (a traceback)."""
    monkeypatch.setenv("ERTUI_MESSAGE_LIFETIME", value)
    before = contents(ready)
    out = invoke(db_url, *args)
    refused(out, "ERTUI_MESSAGE_LIFETIME must be a number of seconds from 0 to 31536000")
    assert contents(ready) == before


@pytest.mark.parametrize("value", ["1e308", "inf", "nan", "-1", "99999999999"])
@pytest.mark.parametrize(
    "name", ["backoff_base", "backoff_max", "cooldown_base", "max_attempts", "lease_seconds", "batch_size"]
)
def test_a_worker_setting_from_the_environment_out_of_range_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """ERTUI_WORKER_BACKOFF_BASE=1e308 made `policy show` end in OverflowError and a
    worker defer mail past the end of time."""
    variable = "ERTUI_WORKER_" + name.upper()
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=f"^{variable} must be "):
        WorkerSettings.from_env()


def test_the_worker_overrides_the_tests_use_still_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in (("ERTUI_WORKER_BACKOFF_BASE", "0"), ("ERTUI_WORKER_LEASE_SECONDS", "1.5")):
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("ERTUI_WORKER_MAX_ATTEMPTS", "3")
    got = WorkerSettings.from_env()
    assert (got.backoff_base, got.lease_seconds, got.max_attempts) == (0.0, 1.5, 3)


@pytest.mark.parametrize("value", ["0", "0.5", "301", "600", "1e9", "nan", "soon"])
def test_the_probe_timeout_has_the_rule_its_help_and_the_saved_field_say(
    ready: Engine, db_url: str, value: str
) -> None:
    """`mta probe --timeout` said '1-300 s' in its help, but took 0.5 and 600 and
    refused 0 with 'must be from 0 to 600 seconds'."""
    out = invoke(db_url, "mta", "probe", "--host", "127.0.0.1", "--port", "1", "--timeout", value)
    refused(out, "Timeout must be a number of seconds from 1 to 300.")


def test_reveal_secrets_alone_is_bad_input(ready: Engine, db_url: str) -> None:
    """It wrote the raw bytes (a recovery email's live token) when the summary was asked for."""
    [mid] = queue.enqueue(ready, ["a@x.example"], "Hi", "x")
    out = invoke(db_url, "queue", "show", str(mid), "--reveal-secrets")
    refused(out, "--reveal-secrets goes with --raw or --headers.")
    assert "Subject: Hi" not in out.output


def test_raw_and_headers_together_is_bad_input(ready: Engine, db_url: str) -> None:
    """It silently wrote the header block only."""
    [mid] = queue.enqueue(ready, ["a@x.example"], "Hi", "x")
    out = invoke(db_url, "queue", "show", str(mid), "--raw", "--headers")
    refused(out, "Give one of --raw (every byte) or --headers (the header block), not both.")
    assert "Subject: Hi" not in out.output


# -- digits that str.isdigit takes and int does not --------------------------------

UNICODE_DIGITS = ["²", "١", "৩", "５"]


@pytest.mark.parametrize("word", UNICODE_DIGITS)
def test_log_by_mta_never_reads_a_unicode_digit_as_an_id(ready: Engine, db_url: str, word: str) -> None:
    """`ertui log --mta ²` ended in ValueError; `--mta ١` took MTA 1."""
    mtas.add(ready, description="Relay", host="127.0.0.1")
    out = invoke(db_url, "log", "--mta", word)
    assert out.exit_code == 0 and out.output == "", out.output


@pytest.mark.parametrize("word", UNICODE_DIGITS)
def test_the_check_counts_take_ascii_digits_only(db_url: str, word: str) -> None:
    for option in ("--warn-failed", "--crit-failed"):
        out = invoke(db_url, "check", option, word)
        assert out.exit_code == 3 and "Traceback" not in out.output, out.output
        assert out.output.startswith(f"ERTUI UNKNOWN - {option} must be a whole number")


@pytest.mark.parametrize("word", UNICODE_DIGITS)
def test_systemd_numbers_take_ascii_digits_only(monkeypatch: pytest.MonkeyPatch, word: str) -> None:
    """WATCHDOG_USEC or JOURNAL_STREAM with '²' ended the worker in ValueError."""
    monkeypatch.setenv("WATCHDOG_USEC", word)
    monkeypatch.setenv("JOURNAL_STREAM", f"{word}:{word}")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert notify.watchdog_interval(default=5.0) == 5.0
    assert notify.logs_to_journal(2) is False


@pytest.mark.parametrize("value", ["١٠", "1_0", "５", "nan", "5."])
def test_an_mta_timeout_takes_ascii_digits_only(ready: Engine, db_url: str, value: str) -> None:
    """float() took '١٠' and '1_0' as 10 (saved)."""
    mtas.add(ready, description="Relay", host="127.0.0.1")
    before = contents(ready)
    refused(invoke(db_url, "mta", "edit", "Relay", "--timeout", value), "Timeout must be a number of seconds")
    assert contents(ready) == before


@pytest.mark.parametrize("age", ["١٥m", "３d", "1\u00a0h"])
@pytest.mark.parametrize(
    ("args", "option"),
    [(["audit", "--since"], "--since"), (["retention", "set", "--keep-sent"], "Keep sent")],
)
def test_an_age_takes_ascii_digits_and_spaces_only(
    ready: Engine, db_url: str, args: list[str], option: str, age: str
) -> None:
    before = contents(ready)
    refused(invoke(db_url, *args, age), option)
    assert contents(ready) == before


@pytest.mark.parametrize("domain", ["@", "@@", " @ "])
@pytest.mark.parametrize("args", [["log"], ["queue", "hold", "--dry-run"], ["queue", "delete", "--yes"]])
def test_a_domain_filter_of_only_an_at_sign_is_refused(
    ready: Engine, db_url: str, args: list[str], domain: str
) -> None:
    """`--domain @` was no filter: `log` showed every attempt, `queue hold` asked for a filter."""
    queue.enqueue(ready, ["a@x.example"], "Hi", "x")
    before = contents(ready)
    refused(invoke(db_url, *args, "--domain", domain), "--domain must name a domain")
    assert contents(ready) == before


def test_log_and_queue_read_a_domain_alike(ready: Engine, db_url: str) -> None:
    """`log --domain @X.example` matched nothing while `queue hold --domain @X.example` matched."""
    [mid] = queue.enqueue(ready, ["a@x.example"], "Hi", "x")
    with ready.begin() as conn:
        conn.execute(
            insert(Attempt).values(
                message_id=mid, started_at=utcnow(), duration_ms=5, outcome="deferred", code=451, text="later"
            )
        )
    for domain in ("x.example", "@X.example", " X.EXAMPLE "):
        shown = invoke(db_url, "log", "--domain", domain)
        assert shown.exit_code == 0 and f"#{mid}" in shown.output, (domain, shown.output)
        held = invoke(db_url, "queue", "hold", "--dry-run", "--domain", domain)
        assert held.output.startswith("1 message(s) would be held."), (domain, held.output)
