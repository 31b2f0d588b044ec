"""Initial schema: versions, version names, outputs, response cache.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json(*, none_as_null: bool = False) -> sa.types.TypeEngine[Any]:
    # Frozen copy of models.json_type (json, not jsonb): migrations must not change when the models do.
    return sa.JSON(none_as_null=none_as_null)


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the first four tables."""
    op.create_table(
        "versions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("feature", sa.String(200), nullable=False),
        sa.Column("content", _json(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_versions"),
    )
    op.create_index("ix_versions_feature", "versions", ["feature"])

    op.create_table(
        "version_names",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("feature", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_version_names"),
        sa.ForeignKeyConstraint(["version_id"], ["versions.id"], name="fk_version_names_version_id_versions"),
    )
    op.create_index("ix_version_names_feature_name", "version_names", ["feature", "name"])
    op.create_index("ix_version_names_version_id", "version_names", ["version_id"])

    op.create_table(
        "outputs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("feature", sa.String(200), nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("params", _json(), nullable=False),
        sa.Column("messages", _json(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column("finished_at", _time(), nullable=False),
        sa.Column("output_text", sa.Text(), nullable=True),
        sa.Column("output_json", _json(none_as_null=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("raw", _json(none_as_null=True), nullable=True),
        sa.Column("steps", _json(), nullable=False),
        sa.Column("context", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outputs"),
    )
    op.create_index("ix_outputs_feature_version_id", "outputs", ["feature", "version_id"])
    op.create_index("ix_outputs_started_at", "outputs", ["started_at"])

    op.create_table(
        "response_cache",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", _json(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_response_cache"),
    )


def downgrade() -> None:
    """Drop the four tables."""
    op.drop_table("response_cache")
    op.drop_index("ix_outputs_started_at", table_name="outputs")
    op.drop_index("ix_outputs_feature_version_id", table_name="outputs")
    op.drop_table("outputs")
    op.drop_index("ix_version_names_version_id", table_name="version_names")
    op.drop_index("ix_version_names_feature_name", table_name="version_names")
    op.drop_table("version_names")
    op.drop_index("ix_versions_feature", table_name="versions")
    op.drop_table("versions")
