"""The worker's event loop: uvloop (a dependency on Linux and macOS) unless
ERTUI_NO_UVLOOP=1."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from ertui.delivery.runner import new_loop


def test_uvloop_by_default_and_asyncio_when_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ERTUI_NO_UVLOOP", raising=False)
    loop = new_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()
    monkeypatch.setenv("ERTUI_NO_UVLOOP", "1")
    loop = new_loop()
    try:
        assert not isinstance(loop, uvloop.Loop) and isinstance(loop, asyncio.AbstractEventLoop)
    finally:
        loop.close()
