"""Semantic cache: redacted text and per-key isolation.

Adds ``semantic_cache.api_key_id`` (the API key an answer belongs to; "" when the feature shares answers)
to the scope index, and empties the cache: rows written before this revision kept raw inputs and answers
whatever the feature's ``data_use`` said, and were served across API keys. The cache refills itself.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_INDEX = "ix_semantic_cache_feature_version_id_tenant"
_NEW_INDEX = "ix_semantic_cache_feature_version_id_tenant_api_key_id"


def upgrade() -> None:
    """Empty the cache, add the API key column, and index the scope with it."""
    op.execute(sa.text("DELETE FROM semantic_cache"))
    with op.batch_alter_table("semantic_cache") as batch:
        batch.add_column(sa.Column("api_key_id", sa.String(length=64), server_default="", nullable=False))
        batch.drop_index(_OLD_INDEX)
        batch.create_index(_NEW_INDEX, ["feature", "version_id", "tenant", "api_key_id"], unique=False)


def downgrade() -> None:
    """Back to one cache per tenant; emptied, so no key's answers reach another key."""
    op.execute(sa.text("DELETE FROM semantic_cache"))
    with op.batch_alter_table("semantic_cache") as batch:
        batch.drop_index(_NEW_INDEX)
        batch.drop_column("api_key_id")
        batch.create_index(_OLD_INDEX, ["feature", "version_id", "tenant"], unique=False)
