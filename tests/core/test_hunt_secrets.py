"""A store URL's password given as a query parameter (``?password=``, which
libpq takes like the one before the host) is hidden wherever ertui prints the
URL: `doctor`'s store check and every store error, through ``redact_url``."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from ertui.cli import cli
from ertui.store.engine import redact_url


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://ops@db.example.com/ertui?password=S3cret-pw&sslmode=require",
        "postgresql://ops:S3cret-pw@db.example.com/ertui",
        "postgresql://ops@db.example.com/ertui?sslpassword=S3cret-pw",
        "postgresql://ops@db.example.com:no-port/ertui?Password=S3cret-pw",  # does not parse
    ],
)
def test_redact_url_hides_every_password(url: str) -> None:
    shown = redact_url(url)
    assert "S3cret-pw" not in shown and "***" in shown and "db.example.com" in shown


def test_doctor_shows_the_store_without_a_password_in_the_query(pg_url: str) -> None:
    parsed = make_url(pg_url)
    password = parsed.password
    assert password
    url = parsed.set(password=None).update_query_dict({"password": str(password)})
    text = url.render_as_string(hide_password=False)
    res = CliRunner().invoke(cli, ["--db", text, "doctor", "--json"])
    assert res.exit_code in (0, 1), res.output
    assert "password=***" in res.stdout
    assert f"password={password}" not in res.output
