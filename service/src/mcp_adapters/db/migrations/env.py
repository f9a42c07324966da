"""Alembic environment: always run from `db.engine.migrate` with a connection handed over."""

from __future__ import annotations

from alembic import context
from mcp_adapters.db.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
