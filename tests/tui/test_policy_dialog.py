"""The Delivery policy dialog (`P` on Mail Settings)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from textual.widgets import Input

from ertui import audit, delivery_policy
from ertui.tui.dialogs.policy import PolicyDialog
from ertui.tui.screens.settings import SettingsScreen
from tests.tui.conftest import make_app
from tests.tui.helpers import static_text, type_into


async def test_policy_dialog_shows_saves_and_refuses(store: Engine) -> None:
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await pilot.press("P")
        dialog = pilot.app.screen
        assert isinstance(dialog, PolicyDialog)
        values = {i.id: i.value for i in dialog.query(Input)}
        assert values == {
            "first-retry": "1m",
            "max-retry": "1h",
            "lifetime": "5d",
            "max-attempts": "0",
            "mta-cooldown": "5s",
        }
        await type_into(pilot, "#first-retry", "5m")
        await type_into(pilot, "#lifetime", "soon")
        await pilot.press("enter")
        assert isinstance(pilot.app.screen, PolicyDialog)  # refused: nothing written
        assert static_text(pilot.app, "#lifetime-error").startswith("Message lifetime must be an age such as")
        assert pilot.app.screen.focused is dialog.query_one("#lifetime", Input)
        assert delivery_policy.stored(store) == delivery_policy.Policy()
        await type_into(pilot, "#lifetime", "2d")
        await type_into(pilot, "#max-attempts", "12")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)
        assert delivery_policy.stored(store) == delivery_policy.Policy(
            first_retry=300.0, lifetime=2 * 86400.0, max_attempts=12
        )
        (entry,) = [e for e in audit.entries(store) if e.action == "policy.set"]
        assert entry.detail == (
            "first retry delay: 1m → 5m; message lifetime: 5d → 2d; maximum attempts: 0 (until the lifetime ends) → 12"
        )
        # the fields not touched were not written: they follow the defaults
        assert set(delivery_policy.stored_values(store)) == {"first_retry", "lifetime", "max_attempts"}
        await pilot.press("P")
        assert pilot.app.screen.query_one("#first-retry", Input).value == "5m"
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, SettingsScreen)


async def test_policy_dialog_says_an_environment_variable_overrides(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERTUI_WORKER_COOLDOWN_BASE", "30")
    async with make_app(store).run_test(size=(100, 30)) as pilot:
        await pilot.press("P")
        assert static_text(pilot.app, "#mta-cooldown-override") == (
            "⚠ ERTUI_WORKER_COOLDOWN_BASE=30 overrides this here (30s is used)"
        )
        assert not pilot.app.screen.query("#first-retry-override")
