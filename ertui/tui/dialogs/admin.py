"""Update Administrator Account: the address every email is sent from."""

from __future__ import annotations

from rich.text import Text
from sqlalchemy.engine import Engine

from ertui import settings
from ertui.tui.dialogs.base import OneFieldDialog


class AdminDialog(OneFieldDialog):
    """Dismisses with the saved address, or None when cancelled. Enter confirms."""

    BOX_ID = "admin-box"
    BOX_TITLE = "Update Administrator Account"
    FIELD_ID = "admin-email"
    LABEL = "Email address"
    PLACEHOLDER = "admin@example.com"

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.user = settings.admin_user(engine)

    def hint(self) -> Text:
        return Text(
            f"Account: {self.user.username} (the default administrator)\n"
            "Every email, tests included, is sent from this address."
        )

    def initial(self) -> str:
        return self.user.email or ""

    def save(self, value: str) -> str:
        return settings.set_admin_email(self.engine, value)
