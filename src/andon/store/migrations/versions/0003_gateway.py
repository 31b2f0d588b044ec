"""Gateway: live-version history, traces, feedback, review queue, API keys, semantic cache, feature events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json(*, none_as_null: bool = False) -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=none_as_null)


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the gateway tables."""
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", _json(), nullable=False),
        sa.Column("rate_limit_per_min", sa.Integer(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("revoked_at", _time(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_keys_secret_hash")),
    )
    op.create_table(
        "feature_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("feature", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("value", _json(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_events")),
    )
    op.create_index(
        op.f("ix_feature_events_feature_kind_id"), "feature_events", ["feature", "kind", "id"], unique=False
    )
    op.create_table(
        "live_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("feature", sa.String(length=200), nullable=False),
        sa.Column("version_id", sa.String(length=64), nullable=False),
        sa.Column("version_name", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_versions")),
    )
    op.create_index(op.f("ix_live_versions_feature_id"), "live_versions", ["feature", "id"], unique=False)
    op.create_table(
        "review_items",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("feature", sa.String(length=200), nullable=False),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.Column("version_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("input", _json(none_as_null=True), nullable=True),
        sa.Column("suggestion_text", sa.Text(), nullable=True),
        sa.Column("suggestion_json", _json(none_as_null=True), nullable=True),
        sa.Column("decision", _json(none_as_null=True), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", _time(), nullable=True),
        sa.Column("exported_at", _time(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
    )
    op.create_index(
        op.f("ix_review_items_feature_status_created_at"),
        "review_items",
        ["feature", "status", "created_at"],
        unique=False,
    )
    op.create_index(op.f("ix_review_items_trace_id"), "review_items", ["trace_id"], unique=False)
    op.create_table(
        "semantic_cache",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("feature", sa.String(length=200), nullable=False),
        sa.Column("version_id", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("output_text", sa.Text(), nullable=True),
        sa.Column("output_json", _json(none_as_null=True), nullable=True),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_semantic_cache")),
    )
    op.create_index(op.f("ix_semantic_cache_expires_at"), "semantic_cache", ["expires_at"], unique=False)
    op.create_index(
        op.f("ix_semantic_cache_feature_version_id_tenant"),
        "semantic_cache",
        ["feature", "version_id", "tenant"],
        unique=False,
    )
    op.create_index(op.f("ix_semantic_cache_key_hash"), "semantic_cache", ["key_hash"], unique=False)
    op.create_table(
        "traces",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("feature", sa.String(length=200), nullable=False),
        sa.Column("version_id", sa.String(length=64), nullable=True),
        sa.Column("version_name", sa.String(length=200), nullable=True),
        sa.Column("output_id", sa.String(length=64), nullable=True),
        sa.Column("route", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("cache", sa.String(length=20), nullable=True),
        sa.Column("input_mode", sa.String(length=20), nullable=False),
        sa.Column("input", _json(none_as_null=True), nullable=True),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("output_text", sa.Text(), nullable=True),
        sa.Column("output_json", _json(none_as_null=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=60), nullable=True),
        sa.Column("provider", sa.String(length=200), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("queue_ms", sa.Float(), nullable=False),
        sa.Column("cache_ms", sa.Float(), nullable=False),
        sa.Column("provider_ms", sa.Float(), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=True),
        sa.Column("session_id", sa.String(length=200), nullable=True),
        sa.Column("tenant", sa.String(length=200), nullable=True),
        sa.Column("api_key_id", sa.String(length=64), nullable=True),
        sa.Column("tags", _json(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_traces")),
    )
    op.create_index(op.f("ix_traces_created_at"), "traces", ["created_at"], unique=False)
    op.create_index(op.f("ix_traces_feature_created_at"), "traces", ["feature", "created_at"], unique=False)
    op.create_index(op.f("ix_traces_input_hash"), "traces", ["input_hash"], unique=False)
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trace_id", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("thumbs", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("user_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trace_id"], ["traces.id"], name=op.f("fk_feedback_trace_id_traces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_index(op.f("ix_feedback_trace_id"), "feedback", ["trace_id"], unique=False)


def downgrade() -> None:
    """Drop the gateway tables."""

    op.drop_index(op.f("ix_feedback_trace_id"), table_name="feedback")
    op.drop_table("feedback")
    op.drop_index(op.f("ix_traces_input_hash"), table_name="traces")
    op.drop_index(op.f("ix_traces_feature_created_at"), table_name="traces")
    op.drop_index(op.f("ix_traces_created_at"), table_name="traces")
    op.drop_table("traces")
    op.drop_index(op.f("ix_semantic_cache_key_hash"), table_name="semantic_cache")
    op.drop_index(op.f("ix_semantic_cache_feature_version_id_tenant"), table_name="semantic_cache")
    op.drop_index(op.f("ix_semantic_cache_expires_at"), table_name="semantic_cache")
    op.drop_table("semantic_cache")
    op.drop_index(op.f("ix_review_items_trace_id"), table_name="review_items")
    op.drop_index(op.f("ix_review_items_feature_status_created_at"), table_name="review_items")
    op.drop_table("review_items")
    op.drop_index(op.f("ix_live_versions_feature_id"), table_name="live_versions")
    op.drop_table("live_versions")
    op.drop_index(op.f("ix_feature_events_feature_kind_id"), table_name="feature_events")
    op.drop_table("feature_events")
    op.drop_table("api_keys")
