"""The Monitors chart's band: each watch point keeps the (low, high) range its detector expected.

Revision ID: 0020
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Two nullable columns: old points and detectors without a band keep NULL."""
    with op.batch_alter_table("watch_points") as batch:
        batch.add_column(sa.Column("band_low", sa.Float(), nullable=True))
        batch.add_column(sa.Column("band_high", sa.Float(), nullable=True))


def downgrade() -> None:
    """Drop the band columns."""
    with op.batch_alter_table("watch_points") as batch:
        batch.drop_column("band_high")
        batch.drop_column("band_low")
