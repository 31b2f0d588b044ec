"""A covering index for a monitor's series: the chart reads a week of points from the index alone.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["monitor", "ts", "value", "state", "band_low", "band_high"]


def upgrade() -> None:
    """(monitor, ts) then what the chart draws, so the 168 h page does not visit 10,080 table rows."""
    op.create_index("ix_watch_points_series", "watch_points", COLUMNS)


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_watch_points_series", table_name="watch_points")
