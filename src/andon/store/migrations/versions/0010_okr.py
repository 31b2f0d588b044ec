"""Objectives: teams, periods, objectives, key results, check-ins, history, work items and links.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the OKR tables."""
    op.create_table(
        "okr_import_cursors",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_okr_import_cursors")),
    )
    op.create_table(
        "okr_periods",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("ends", sa.Date(), nullable=False),
        sa.Column("closed_at", _time(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_okr_periods")),
    )
    op.create_table(
        "okr_teams",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent", sa.String(length=100), nullable=True),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["parent"], ["okr_teams.id"], name=op.f("fk_okr_teams_parent_okr_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_okr_teams")),
    )
    op.create_table(
        "okr_work_items",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=100), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("points", sa.Float(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("updated_at", _time(), nullable=True),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_okr_work_items")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_okr_work_items_source_external_id")),
    )
    op.create_table(
        "okr_objectives",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("parent", sa.String(length=64), nullable=True),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent"], ["okr_objectives.id"], name=op.f("fk_okr_objectives_parent_okr_objectives")
        ),
        sa.ForeignKeyConstraint(["period"], ["okr_periods.id"], name=op.f("fk_okr_objectives_period_okr_periods")),
        sa.ForeignKeyConstraint(["team"], ["okr_teams.id"], name=op.f("fk_okr_objectives_team_okr_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_okr_objectives")),
        sa.UniqueConstraint("key", name=op.f("uq_okr_objectives_key")),
    )
    op.create_index(op.f("ix_okr_objectives_period_team"), "okr_objectives", ["period", "team"], unique=False)
    op.create_table(
        "okr_key_results",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("objective", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("direction", sa.String(length=20), nullable=False),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("binding", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["objective"], ["okr_objectives.id"], name=op.f("fk_okr_key_results_objective_okr_objectives")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_okr_key_results")),
        sa.UniqueConstraint("key", name=op.f("uq_okr_key_results_key")),
    )
    op.create_index(op.f("ix_okr_key_results_objective"), "okr_key_results", ["objective"], unique=False)
    op.create_table(
        "okr_checkins",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("key_result", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("snapshot", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("step", sa.String(length=100), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_result"], ["okr_key_results.id"], name=op.f("fk_okr_checkins_key_result_okr_key_results")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_okr_checkins")),
        sa.UniqueConstraint("key_result", "source", "step", name=op.f("uq_okr_checkins_key_result_source_step")),
    )
    op.create_index(
        op.f("ix_okr_checkins_key_result_created_at"), "okr_checkins", ["key_result", "created_at"], unique=False
    )
    op.create_table(
        "okr_kr_events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("key_result", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("before", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("after", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_result"], ["okr_key_results.id"], name=op.f("fk_okr_kr_events_key_result_okr_key_results")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_okr_kr_events")),
    )
    op.create_index(
        op.f("ix_okr_kr_events_key_result_created_at"), "okr_kr_events", ["key_result", "created_at"], unique=False
    )
    op.create_table(
        "okr_work_links",
        sa.Column("work_item", sa.String(length=64), nullable=False),
        sa.Column("key_result", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("rule", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["key_result"], ["okr_key_results.id"], name=op.f("fk_okr_work_links_key_result_okr_key_results")
        ),
        sa.ForeignKeyConstraint(
            ["work_item"], ["okr_work_items.id"], name=op.f("fk_okr_work_links_work_item_okr_work_items")
        ),
        sa.PrimaryKeyConstraint("work_item", "key_result", name=op.f("pk_okr_work_links")),
    )
    op.create_index(op.f("ix_okr_work_links_key_result"), "okr_work_links", ["key_result"], unique=False)


def downgrade() -> None:
    """Drop the OKR tables."""
    op.drop_index(op.f("ix_okr_work_links_key_result"), table_name="okr_work_links")
    op.drop_table("okr_work_links")
    op.drop_index(op.f("ix_okr_kr_events_key_result_created_at"), table_name="okr_kr_events")
    op.drop_table("okr_kr_events")
    op.drop_index(op.f("ix_okr_checkins_key_result_created_at"), table_name="okr_checkins")
    op.drop_table("okr_checkins")
    op.drop_index(op.f("ix_okr_key_results_objective"), table_name="okr_key_results")
    op.drop_table("okr_key_results")
    op.drop_index(op.f("ix_okr_objectives_period_team"), table_name="okr_objectives")
    op.drop_table("okr_objectives")
    op.drop_table("okr_work_items")
    op.drop_table("okr_teams")
    op.drop_table("okr_periods")
    op.drop_table("okr_import_cursors")
