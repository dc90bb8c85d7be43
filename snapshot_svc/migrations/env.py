"""Alembic's entry point for the snapshot service's schema. Run through
`chartsnap db upgrade` (snapshot_svc.schema), which hands the connection in:
there is no alembic.ini, and the URL comes from CHARTSNAP_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from snapshot_svc.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  # SQLite changes a table by copying it; the migrations say so where needed.
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
