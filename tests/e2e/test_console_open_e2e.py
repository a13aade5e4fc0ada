"""The installed `ertui` in a real terminal opens its store behind the first
frame (tests/tui/test_first_frame.py): a store that cannot be opened still ends
in the one sentence it gave before the console drew anything, and exit 1."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.e2e.conftest import Terminal, console_env, installed_ertui

pytestmark = pytest.mark.e2e


def test_a_store_in_a_missing_folder_is_one_sentence_after_the_console_closes(
    terminal: Terminal, tmp_path: Path, isolated_dirs: Path
) -> None:
    script = installed_ertui()
    # the status said by the shell: the console may end before tmux's remain-on-exit is set
    ertui = shlex.join([script, "--db", str(tmp_path / "missing" / "x.db")])
    terminal.start(["sh", "-c", f'{ertui}; echo "exit status $?"; sleep 60'], console_env())
    found = terminal.wait_for(r"exit status (\d+)")
    # the whole pane with its scrollback, its wrapped lines joined again
    text = terminal._run("capture-pane", "-p", "-J", "-S", "-", "-t", terminal.target).stdout
    assert found.group(1) == "1", text
    assert "ertui: The folder" in text and "of the store file x.db does not exist" in text, text
    assert "Traceback" not in text, text
    assert not (tmp_path / "missing").exists()
