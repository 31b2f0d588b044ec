"""Knowledge bases, their documents (Markdown, JSON structure, source path, hash, parser) and chunks.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from andon.store.models import ModelText, UTCDateTime, json_type

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Three new tables; nothing existing changes."""
    op.create_table(
        "knowledge_bases",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("chunker", json_type(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_knowledge_bases")),
    )
    op.create_table(
        "knowledge_documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("knowledge", sa.String(200), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("parser", sa.String(50), nullable=False),
        sa.Column("parser_version", sa.String(100), nullable=False),
        sa.Column("encoding", sa.String(100), nullable=True),
        sa.Column("markdown", ModelText(), nullable=False),
        sa.Column("structure", json_type(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["knowledge"],
            ["knowledge_bases.name"],
            name=op.f("fk_knowledge_documents_knowledge_knowledge_bases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_documents")),
        sa.UniqueConstraint("knowledge", "source_path", name=op.f("uq_knowledge_documents_knowledge_source_path")),
    )
    op.create_table(
        "knowledge_chunks",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("knowledge", sa.String(200), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("text", ModelText(), nullable=False),
        sa.Column("section", json_type(), nullable=False),
        sa.Column("anchors", json_type(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["knowledge_documents.id"],
            name=op.f("fk_knowledge_chunks_document_id_knowledge_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["knowledge"],
            ["knowledge_bases.name"],
            name=op.f("fk_knowledge_chunks_knowledge_knowledge_bases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_chunks")),
    )
    op.create_index(
        op.f("ix_knowledge_chunks_knowledge_document_id_seq"),
        "knowledge_chunks",
        ["knowledge", "document_id", "seq"],
        unique=False,
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_index(op.f("ix_knowledge_chunks_knowledge_document_id_seq"), table_name="knowledge_chunks")
    op.drop_table("knowledge_chunks")
    op.drop_table("knowledge_documents")
    op.drop_table("knowledge_bases")
