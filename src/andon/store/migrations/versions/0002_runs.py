"""Evaluation runs: runs, their case snapshots, and graded results.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json(*, none_as_null: bool = False) -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=none_as_null)


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create runs, run_cases and run_results."""
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("feature", sa.String(200), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("finished_at", _time(), nullable=True),
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column("dataset_sha256", sa.String(64), nullable=False),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("versions", _json(), nullable=False),
        sa.Column("config", _json(), nullable=False),
        sa.Column("n_cases", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_index("ix_runs_feature", "runs", ["feature"])
    op.create_index("ix_runs_created_at", "runs", ["created_at"])

    op.create_table(
        "run_cases",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "case_id", name="pk_run_cases"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_cases_run_id_runs", ondelete="CASCADE"),
    )

    op.create_table(
        "run_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("version_name", sa.String(200), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("output_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("grades", _json(), nullable=False),
        sa.Column("output_text", sa.Text(), nullable=True),
        sa.Column("output_json", _json(none_as_null=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("predicted_label", sa.String(200), nullable=True),
        sa.Column("expected_label", sa.String(200), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_run_results"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_results_run_id_runs", ondelete="CASCADE"),
        sa.UniqueConstraint(
            "run_id", "version_id", "case_id", "repeat", name="uq_run_results_run_id_version_id_case_id_repeat"
        ),
    )
    op.create_index("ix_run_results_run_id", "run_results", ["run_id"])


def downgrade() -> None:
    """Drop the run tables."""
    op.drop_index("ix_run_results_run_id", table_name="run_results")
    op.drop_table("run_results")
    op.drop_table("run_cases")
    op.drop_index("ix_runs_created_at", table_name="runs")
    op.drop_index("ix_runs_feature", table_name="runs")
    op.drop_table("runs")
