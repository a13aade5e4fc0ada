"""`ertui demo --db` on a store that already relays real mail."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from ertui import mtas, queue
from ertui.demo import DemoSink, setup_store
from ertui.errors import ErtuiError


def test_demo_refuses_a_store_with_enabled_mtas_of_its_own(engine: Engine) -> None:
    """Its sample mail (and one more every few seconds) would go out through them."""
    mtas.add(engine, description="Production relay", host="smtp.example.com")
    with DemoSink() as sink, pytest.raises(ErtuiError, match="Production relay"):
        setup_store(engine, sink.port, messages=3)
    assert [m.description for m in mtas.list_mtas(engine)] == ["Production relay"]
    assert queue.count_messages(engine, status="all") == 0
    mtas.set_enabled(engine, "Production relay", False)  # disabled: the demo may use the store
    with DemoSink() as sink:
        assert len(setup_store(engine, sink.port, messages=3)) == 3
