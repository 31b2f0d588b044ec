"""Knowledge bases: their documents (Markdown + JSON structure, source path, hash, parser) and chunks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.models import ID_LENGTH, Base, ModelText, UTCDateTime, json_type, utcnow


class KnowledgeBaseRow(Base):
    """A named collection of documents chunked one way; ``content_hash`` changes when any of it does."""

    __tablename__ = "knowledge_bases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    chunker: Mapped[Any] = mapped_column(json_type())  # {"name": …, settings…}
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KnowledgeDocumentRow(Base):
    """One source file as parsed: one row per (knowledge base, source path), replaced when its bytes change."""

    __tablename__ = "knowledge_documents"
    __table_args__ = (UniqueConstraint("knowledge", "source_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    knowledge: Mapped[str] = mapped_column(String(200), ForeignKey("knowledge_bases.name", ondelete="CASCADE"))
    source_path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    parser: Mapped[str] = mapped_column(String(50))
    parser_version: Mapped[str] = mapped_column(String(100))
    encoding: Mapped[str | None] = mapped_column(String(100), nullable=True)
    markdown: Mapped[str] = mapped_column(ModelText)
    structure: Mapped[Any] = mapped_column(json_type())
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KnowledgeChunkRow(Base):
    """A span of a document's Markdown with its section path, anchors and (optionally) its embedding."""

    __tablename__ = "knowledge_chunks"
    __table_args__ = (Index(None, "knowledge", "document_id", "seq"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    knowledge: Mapped[str] = mapped_column(String(200), ForeignKey("knowledge_bases.name", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(Integer, ForeignKey("knowledge_documents.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(ModelText)
    section: Mapped[Any] = mapped_column(json_type())  # ["제3장", "제12조"]
    anchors: Mapped[Any] = mapped_column(json_type())  # {"pages": [...], "lines": [...]}
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # float32, L2-normalised
