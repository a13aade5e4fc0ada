"""Where the one stylesheet is: inside the package in a wheel, at the repo root in a checkout."""

from __future__ import annotations

from pathlib import Path

import ertui

STYLESHEET = "ertui.tcss"


def stylesheet_path() -> Path:
    package = Path(ertui.__file__).resolve().parent
    for candidate in (package / STYLESHEET, package.parent / STYLESHEET):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{STYLESHEET} is neither in {package} nor in {package.parent}")
