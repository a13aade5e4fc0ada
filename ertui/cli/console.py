"""Opening the Textual console from the command line (imported only then)."""

from __future__ import annotations

from ertui.cli.common import Obj, fail


def run_console(obj: Obj) -> None:
    try:
        from ertui.tui.app import run
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("ertui.tui"):
            fail("the console is not built yet; use the `ertui mta …` commands.")
        raise
    run(obj.engine)
