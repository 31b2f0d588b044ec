"""Issue 14: the spans table (model calls, tool calls, handoffs of a trace) and the traces' session index.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from andon.store.models import UTCDateTime, json_type
from andon.store.models_agents import TRACE_SESSION_INDEX

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A new table, and a plain CREATE INDEX on traces (no table copy: the text index's rowids stay)."""
    op.create_table(
        "spans",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("trace_id", sa.String(length=64), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("attributes", json_type(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spans")),
    )
    op.create_index("ix_spans_trace_id_started_at", "spans", ["trace_id", "started_at"])
    op.create_index(TRACE_SESSION_INDEX, "traces", ["session_id", "created_at"])


def downgrade() -> None:
    """Drop the session index and the spans table."""
    op.drop_index(TRACE_SESSION_INDEX, table_name="traces")
    op.drop_index("ix_spans_trace_id_started_at", table_name="spans")
    op.drop_table("spans")
