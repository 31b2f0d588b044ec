"""The Monitors chart's band (each watch point keeps the (low, high) range its detector expected) and the
Traces page's route + version index.

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from andon.store.models import TRACE_ROUTE_VERSION_INDEX

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Two nullable columns (old points and detectors without a band keep NULL) and one index."""
    with op.batch_alter_table("watch_points") as batch:
        batch.add_column(sa.Column("band_low", sa.Float(), nullable=True))
        batch.add_column(sa.Column("band_high", sa.Float(), nullable=True))
    # A plain CREATE INDEX: no table copy, so the traces' rowids (the text index's keys) stay as they are.
    op.create_index(TRACE_ROUTE_VERSION_INDEX, "traces", ["route", "version_id", "created_at", "id"])


def downgrade() -> None:
    """Drop the index and the band columns."""
    op.drop_index(TRACE_ROUTE_VERSION_INDEX, table_name="traces")
    with op.batch_alter_table("watch_points") as batch:
        batch.drop_column("band_high")
        batch.drop_column("band_low")
