"""Guard (issue 15): a review item's priority, so a guard's route goes to the head of the queue.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add review_items.priority (0 for every item there is) and the index the queue is read by."""
    with op.batch_alter_table("review_items") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), server_default="0", nullable=False))
    op.create_index("ix_review_items_status_priority_created_at", "review_items", ["status", "priority", "created_at"])


def downgrade() -> None:
    """Drop the index and the column."""
    op.drop_index("ix_review_items_status_priority_created_at", table_name="review_items")
    with op.batch_alter_table("review_items") as batch:
        batch.drop_column("priority")
