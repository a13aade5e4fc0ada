"""Opening the Textual console from the command line (imported only then)."""

from __future__ import annotations

from ertui.cli.common import Obj


def run_console(obj: Obj) -> None:
    from ertui.tui.app import run  # Textual loads only when the console opens

    run(obj.engine)
