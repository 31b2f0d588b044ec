"""Incidents: stages, timeline and notes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON()


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the incident tables."""
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("feature", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=30), nullable=False),
        sa.Column("monitor", sa.String(length=200), nullable=True),
        sa.Column("metric", sa.String(length=200), nullable=True),
        sa.Column("dedupe_key", sa.String(length=400), nullable=True),
        sa.Column("open_key", sa.String(length=400), nullable=True),
        sa.Column("opened_at", _time(), nullable=False),
        sa.Column("closed_at", _time(), nullable=True),
        sa.Column("false_alarm", sa.Boolean(), nullable=True),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("decision", sa.String(length=30), nullable=True),
        sa.Column("runbook", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("details", _json(), nullable=False),
        sa.Column("stages", _json(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("open_key", name=op.f("uq_incidents_open_key")),
    )
    op.create_index(op.f("ix_incidents_feature_opened_at"), "incidents", ["feature", "opened_at"], unique=False)
    op.create_index(op.f("ix_incidents_monitor_opened_at"), "incidents", ["monitor", "opened_at"], unique=False)
    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("stage", sa.String(length=30), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("data", _json(), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_events_incident_id_incidents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_events")),
    )
    op.create_index(op.f("ix_incident_events_incident_id_id"), "incident_events", ["incident_id", "id"], unique=False)


def downgrade() -> None:
    """Drop the incident tables."""
    op.drop_index(op.f("ix_incident_events_incident_id_id"), table_name="incident_events")
    op.drop_table("incident_events")
    op.drop_index(op.f("ix_incidents_monitor_opened_at"), table_name="incidents")
    op.drop_index(op.f("ix_incidents_feature_opened_at"), table_name="incidents")
    op.drop_table("incidents")
