"""The served console in a real headless Chromium (Debian's chromium + chromedriver, through Selenium).

textual-serve draws the terminal on a canvas, so the page has no text to read:
the test types through the browser and checks the store (``mta list --json``).
The pauses only pace the typing like an operator; no assertion is on time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Served, wait_until

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOT_DIR_ENV = "ERTUI_SCREENSHOT_DIR"  # set it to keep the PNG (docs/ holds the README's)
PACE = 1.5  # seconds between steps, as an operator would type

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does)",
    ),
]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager never downloads a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,800"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def mtas(db: Path) -> dict[str, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "ertui", "--db", str(db), "mta", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return {m["description"]: m for m in json.loads(done.stdout)}


def open_console(driver: Any, url: str) -> None:
    """Load the page, wait for the console's first drawing, put the keyboard focus on the terminal."""
    driver.get(url)
    wait_until(
        lambda: "-first-byte" in driver.execute_script("return document.body.className"),
        "the console to draw in the browser",
        60,
    )
    driver.execute_script("document.querySelector('.xterm-helper-textarea').focus()")
    time.sleep(PACE)


def keys(driver: Any, *steps: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    for step in steps:
        ActionChains(driver).send_keys(step).perform()
        time.sleep(PACE)


def ctrl(driver: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    ActionChains(driver).key_down(Keys.CONTROL).send_keys(key).key_up(Keys.CONTROL).perform()


def add_mta(driver: Any, description: str, host: str, *, ssl: bool) -> None:
    """Mail Settings → ``a`` → Description, Host Name, (Host Port), Enable SSL → ctrl+s."""
    from selenium.webdriver.common.keys import Keys

    keys(driver, "a")
    typed = description + Keys.TAB + host + Keys.TAB + Keys.TAB  # the focus is on the SSL switch
    keys(driver, typed + (Keys.SPACE if ssl else ""))
    ctrl(driver, "s")


def test_the_console_in_chromium_adds_an_mta_and_two_tabs_get_two_consoles(
    serve: Callable[..., Served], browser: Any, tmp_path: Path
) -> None:
    db = tmp_path / "demo.db"
    served = serve(db, "--demo")
    open_console(browser, served.base + "/")
    add_mta(browser, "Web relay", "smtp.example.com", ssl=True)
    wait_until(lambda: "Web relay" in mtas(db), "the MTA typed in the browser to be saved")
    relay = mtas(db)["Web relay"]
    assert (relay["host"], relay["port"], relay["security"]) == ("smtp.example.com", 465, "ssl")

    time.sleep(PACE)  # back on Mail Settings, with the new MTA in the table
    shot = tmp_path / "serve-mail-settings.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    if keep := os.environ.get(SCREENSHOT_DIR_ENV):
        shutil.copy(shot, Path(keep) / shot.name)

    first_tab = browser.current_window_handle
    browser.switch_to.new_window("tab")
    open_console(browser, served.base + "/")
    assert len(served.consoles()) == 2  # a console process per tab
    add_mta(browser, "Second tab relay", "smtp2.example.com", ssl=False)
    wait_until(lambda: "Second tab relay" in mtas(db), "the MTA typed in the second tab to be saved")
    assert mtas(db)["Second tab relay"]["port"] == 25

    browser.switch_to.window(first_tab)  # the first tab's console still answers
    browser.execute_script("document.querySelector('.xterm-helper-textarea').focus()")
    before = {name: m["enabled"] for name, m in mtas(db).items()}
    keys(browser, " ")  # space: enable/disable the MTA under the cursor
    wait_until(
        lambda: sum(m["enabled"] != before[name] for name, m in mtas(db).items() if name in before) == 1,
        "the first tab to switch one MTA on or off",
    )

    browser.quit()
    assert served.stop() == 0
