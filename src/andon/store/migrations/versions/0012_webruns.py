"""The run page: case tags in their own table, and indexes for paging a run's cells.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
_CHUNK = 2000


def upgrade() -> None:
    """Create ``run_case_tags`` (filled from the runs already stored) and the cell-paging indexes."""
    tags = op.create_table(
        "run_case_tags",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("tag", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_run_case_tags_run_id_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "tag", "case_id", name=op.f("pk_run_case_tags")),
    )
    op.create_index("ix_run_results_run_id_id", "run_results", ["run_id", "id"])
    op.create_index("ix_run_results_run_id_version_id_id", "run_results", ["run_id", "version_id", "id"])
    bind = op.get_bind()
    rows: list[dict[str, Any]] = []
    for run_id, case_id, data in bind.execute(sa.text("SELECT run_id, case_id, data FROM run_cases")).fetchall():
        found = json.loads(data) if isinstance(data, str) else data
        for tag in dict.fromkeys(str(x) for x in (found or {}).get("tags") or ()):
            rows.append({"run_id": run_id, "tag": tag[:200], "case_id": case_id})
        if len(rows) >= _CHUNK:
            op.bulk_insert(tags, rows)
            rows = []
    if rows:
        op.bulk_insert(tags, rows)


def downgrade() -> None:
    """Drop the indexes and the tags table."""
    op.drop_index("ix_run_results_run_id_version_id_id", table_name="run_results")
    op.drop_index("ix_run_results_run_id_id", table_name="run_results")
    op.drop_table("run_case_tags")
