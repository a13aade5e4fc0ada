"""One set of login rules (``mta_config.login``): an edit (``mtas.edit``) and a
draft of the same MTA to test (``draft_config``, the form's Test and Ok) take the
same inputs to the same answer — the same sentence on the same field, or the
same login."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from ertui import mtas
from ertui.errors import ValidationError
from ertui.mta_rules import Security
from ertui.store.models import Mta

OAUTH = {"oauth_token_url": "https://login.example.com/t", "oauth_client_id": "app"}
PW = {"username": "bob", "password": "pw"}
XO = {"username": "bob", "auth_mechanism": "xoauth2", **OAUTH, "oauth_secret": "s"}

# (the stored MTA's login, what is given) for an edit and a draft alike
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("none stored, auth on, no username", {}, {"use_auth": True}),
    ("none stored, auth on, blank username", {}, {"use_auth": True, "username": "  "}),
    ("none stored, username, no password", {}, {"username": "bob"}),
    ("none stored, username and password", {}, {"username": "bob", "password": "pw"}),
    ("stored login, nothing given", PW, {}),
    ("stored login, new username only", PW, {"username": "carol"}),
    ("stored login, auth on, blank username", PW, {"use_auth": True, "username": ""}),
    ("stored login, auth off", PW, {"use_auth": False}),
    ("stored login, to xoauth2 without its settings", PW, {"auth_mechanism": "xoauth2"}),
    ("stored login, to xoauth2 without a secret", PW, {"auth_mechanism": "xoauth2", **OAUTH}),
    ("stored login, to xoauth2 with its secret", {"username": "bob", "password": "pw"},
     {"auth_mechanism": "xoauth2", **OAUTH, "oauth_secret": "s"}),
    ("stored xoauth2, back to a password without one", XO, {"auth_mechanism": "plain"}),
    ("stored xoauth2, nothing given", XO, {}),
    ("bad mechanism", {}, {"username": "bob", "password": "pw", "auth_mechanism": "kerberos"}),
    ("username with a line break", {}, {"username": "bob\r\nRCPT TO:<x>", "password": "pw"}),
]  # fmt: skip


def _answer(call: Any) -> tuple[str, Any]:
    try:
        result = call()
    except ValidationError as exc:
        return ("refused", (exc.key, str(exc)))
    return ("ok", result)


@pytest.mark.parametrize(("stored", "given"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_an_edit_and_a_draft_follow_one_set_of_login_rules(
    engine: Engine, stored: dict[str, Any], given: dict[str, Any]
) -> None:
    mtas.add(engine, description="Relay", host="relay.example.com", security=Security.STARTTLS, **stored)
    before = mtas.get(engine, "Relay")

    draft = _answer(lambda: mtas.draft_config(before, host="relay.example.com", security=Security.STARTTLS, **given))
    edit = _answer(lambda: mtas.edit(engine, "Relay", **given))

    assert draft[0] == edit[0], (draft, edit)
    if draft[0] == "refused":
        assert draft[1] == edit[1]
        assert mtas.get(engine, "Relay").model_dump() == before.model_dump()  # nothing written
        return
    saved: Mta = edit[1]
    cfg = draft[1]
    assert (cfg.use_auth, cfg.username, cfg.auth_mechanism.value) == (
        saved.use_auth,
        saved.username,
        saved.auth_mechanism,
    )
    again = mtas.config_for(saved)  # the saved login is the one the draft would test
    assert (again.password, again.oauth_secret) == (cfg.password, cfg.oauth_secret)
