"""Workers writing their batches at once lock the MTA rows in one order (id
order): in any other order two PostgreSQL workers deadlock (seen in
bench/scale_pg.py with 2 and 4 workers before the fix)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from ertui import mtas
from ertui.timeutil import utcnow


def test_mta_rows_are_updated_in_id_order(engine: Engine) -> None:
    ids = [mtas.add(engine, description=f"Relay {i}", host=f"relay{i}.example.com").id for i in range(4)]
    assert None not in ids
    order: list[int] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("UPDATE MTA"):
            values = params if isinstance(params, (list, tuple)) else list(params.values())
            order.append(int(values[-1]))  # WHERE mta.id = ? is the last parameter

    now = utcnow()
    batch = {i: mtas.Contact(now, "250 ok", 1, now) for i in reversed([int(i) for i in ids if i is not None])}
    event.listen(engine, "before_cursor_execute", seen)
    try:
        with engine.begin() as conn:
            mtas.write_contacts(conn, batch)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert order == sorted(order) and len(order) == 4
    assert all(mtas.get(engine, i).sent_count == 1 for i in ids if i is not None)
