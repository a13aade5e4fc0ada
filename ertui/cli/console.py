"""Opening the Textual console from the command line (imported only then)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ertui import config
from ertui.cli.common import Obj

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def run_console(obj: Obj) -> None:
    """The console draws its first frame, then opens the store in a thread
    (ertui.tui.opening): SQLAlchemy and the services load behind that frame.
    What opening says (a store or key file readable by others) is shown in
    the console and printed again once it has closed."""
    config.resolve_db_url(obj.db_url)  # a --db that is not UTF-8 is said before the console opens

    def open_store() -> Engine:
        return obj.engine

    from ertui.tui.app import run  # Textual loads only when the console opens

    run(open_store)
