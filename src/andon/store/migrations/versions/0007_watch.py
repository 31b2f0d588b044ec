"""Watch: monitor state, points and leases, cord pulls, pushed metric values.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("watch_state", "watch_points", "watch_leases", "cord_pulls", "watch_metrics")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON()


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the watcher's tables."""
    op.create_table(
        "watch_state",
        sa.Column("monitor", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("state", _json(), nullable=False),
        sa.Column("last_ts", _time(), nullable=True),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("monitor", name=op.f("pk_watch_state")),
    )
    op.create_table(
        "watch_points",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("monitor", sa.String(length=200), nullable=False),
        sa.Column("ts", _time(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("successes", sa.Integer(), nullable=True),
        sa.Column("trials", sa.Integer(), nullable=True),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("fired", sa.Boolean(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_points")),
        sa.UniqueConstraint("monitor", "ts", name=op.f("uq_watch_points_monitor_ts")),
    )
    op.create_table(
        "watch_leases",
        sa.Column("monitor", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("monitor", name=op.f("pk_watch_leases")),
    )
    op.create_table(
        "cord_pulls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dedupe_key", sa.String(length=400), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("feature", sa.String(length=200), nullable=False),
        sa.Column("monitor", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("params", _json(), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=True),
        sa.Column("details", _json(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("done_at", _time(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cord_pulls")),
        sa.UniqueConstraint("dedupe_key", "action", name=op.f("uq_cord_pulls_dedupe_key_action")),
    )
    op.create_index(op.f("ix_cord_pulls_feature_id"), "cord_pulls", ["feature", "id"], unique=False)
    op.create_index(op.f("ix_cord_pulls_status"), "cord_pulls", ["status"], unique=False)
    op.create_table(
        "watch_metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("metric", sa.String(length=200), nullable=False),
        sa.Column("ts", _time(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("api_key_id", sa.String(length=64), nullable=True),
        sa.Column("received_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_metrics")),
    )
    op.create_index(op.f("ix_watch_metrics_metric_ts"), "watch_metrics", ["metric", "ts"], unique=False)


def downgrade() -> None:
    """Drop the watcher's tables (traces, incidents and feature events stay)."""
    op.drop_index(op.f("ix_watch_metrics_metric_ts"), table_name="watch_metrics")
    op.drop_index(op.f("ix_cord_pulls_status"), table_name="cord_pulls")
    op.drop_index(op.f("ix_cord_pulls_feature_id"), table_name="cord_pulls")
    for name in reversed(TABLES):
        op.drop_table(name)
