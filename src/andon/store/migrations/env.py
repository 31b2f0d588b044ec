"""Alembic environment: migrates over the connection that ``andon.store.db.migrate`` hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from andon.store import models_knowledge as _models_knowledge  # noqa: F401  (its tables on Base.metadata)
from andon.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run andon migrations through andon.store.db.migrate(), which supplies a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=config.get_main_option("version_table") or "alembic_version",
    render_as_batch=True,  # SQLite can only ALTER through table copies
)
with context.begin_transaction():
    context.run_migrations()
