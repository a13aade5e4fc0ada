"""The one stylesheet is found from a checkout (editable) and from a built wheel."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ertui.tui.styles import stylesheet_path

ROOT = Path(__file__).resolve().parents[2]


def test_editable_checkout_uses_the_repo_root_file() -> None:
    assert stylesheet_path() == ROOT / "ertui.tcss"


def test_a_wheel_ships_it_inside_the_package_and_the_app_finds_it(tmp_path: Path) -> None:
    if importlib.util.find_spec("hatchling") is None:
        pytest.skip("hatchling is not installed: cannot build the wheel offline")
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = out.glob("ertui-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        assert "ertui/ertui.tcss" in zf.namelist()
        zf.extractall(site)
    probe = "import ertui.tui.app as a, ertui.tui.styles as s; print(s.stylesheet_path()); print(a.ErtuiApp.CSS_PATH)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=60,
    )
    found, css = result.stdout.split()
    assert Path(found) == site / "ertui" / "ertui.tcss"
    assert Path(css) == Path(found)
