from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import ertui.store.models  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only used through ertui.store.engine
    raise RuntimeError("ertui migrations run through ertui.store.engine.ensure_schema")
context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
