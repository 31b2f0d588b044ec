"""Deploy: criteria recorded with runs and promotions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


COLUMNS = ("criteria", "criteria_sha256", "run_criteria_sha256")


def upgrade() -> None:
    """Each promotion keeps the criteria it was judged on and the hash of its run's criteria."""
    with op.batch_alter_table("live_versions") as batch:
        batch.add_column(sa.Column("criteria", sa.JSON(none_as_null=True), nullable=True))
        batch.add_column(sa.Column("criteria_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("run_criteria_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Drop the recorded criteria (the promotions themselves stay)."""
    with op.batch_alter_table("live_versions") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
