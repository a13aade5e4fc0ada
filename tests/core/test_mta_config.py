"""An MTA row's relay fields reach the transport's MtaConfig; the draft's rules."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from ertui import mtas
from ertui.errors import ValidationError
from ertui.mta_rules import AuthMechanism, Security


def test_a_saved_mta_gives_the_session_its_relay_fields(engine: Engine) -> None:
    m = mtas.add(
        engine, description="M365", host="smtp.office365.com", security=Security.STARTTLS, username="ops@example.com",
        auth_mechanism="xoauth2", oauth_token_url="https://login.example.com/token", oauth_client_id="app",
        oauth_secret="s3cret", ehlo_name="out.example.org", pipelining=False, timeout="12",
    )  # fmt: skip
    cfg = mtas.config_for(m)
    assert (cfg.auth_mechanism, cfg.ehlo_name, cfg.pipelining, cfg.timeout) == (
        AuthMechanism.XOAUTH2, "out.example.org", False, 12.0,
    )  # fmt: skip
    assert (cfg.oauth_client_id, cfg.oauth_secret, cfg.password) == ("app", "s3cret", None)
    assert "s3cret" not in repr(cfg)
    # Back to a password: the OAuth2 settings and secret are dropped.
    back = mtas.edit(engine, "M365", auth_mechanism="auto", password="pw")
    assert (back.oauth_secret_enc, back.oauth_token_url, back.auth_mechanism) == (None, None, "auto")
    assert mtas.config_for(back).password == "pw"


def test_a_draft_with_xoauth2_needs_its_settings_but_no_password() -> None:
    base = {"host": "smtp.office365.com", "username": "ops@example.com", "auth_mechanism": "xoauth2"}
    with pytest.raises(ValidationError, match="Token URL is required"):
        mtas.draft_config(**base)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="Client secret is required"):
        mtas.draft_config(**base, oauth_token_url="https://l.example.com/t", oauth_client_id="a")  # type: ignore[arg-type]
    cfg = mtas.draft_config(**base, oauth_token_url="https://l.example.com/t", oauth_client_id="a", oauth_secret="x")  # type: ignore[arg-type]
    assert cfg.password is None and cfg.oauth_secret == "x"
    assert cfg.oauth_scope == "https://outlook.office365.com/.default"
