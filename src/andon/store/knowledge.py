"""Knowledge bases in the store: documents replaced by source path, chunks with their optional embeddings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update

from andon.store._base import StoreBase
from andon.store.models import utcnow
from andon.store.models_knowledge import KnowledgeBaseRow, KnowledgeChunkRow, KnowledgeDocumentRow


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """A knowledge base: its name, chunker settings and content hash."""

    name: str
    chunker: dict[str, Any]
    content_hash: str


@dataclass(frozen=True, slots=True)
class KnowledgeDocument:
    """A stored document (``markdown`` and ``structure`` as the parser gave them)."""

    id: int
    source_path: str
    sha256: str
    size: int
    parser: str
    parser_version: str
    encoding: str | None
    markdown: str
    structure: dict[str, Any]


@dataclass(frozen=True, slots=True)
class KnowledgeChunk:
    """A chunk as stored; ``embedding`` is float32 bytes or None."""

    id: str
    document_id: int
    source_path: str
    seq: int
    start: int
    end: int
    text: str
    section: list[str]
    anchors: dict[str, Any]
    embedding: bytes | None = None


class KnowledgeMixin(StoreBase):
    """Knowledge bases, documents and chunks (methods of :class:`andon.store.Store`)."""

    def knowledge_get(self, name: str) -> KnowledgeBase | None:
        """The knowledge base ``name``, or None."""
        with self._read() as session:
            row = session.get(KnowledgeBaseRow, name)
            return None if row is None else KnowledgeBase(row.name, dict(row.chunker), row.content_hash)

    def knowledge_hash(self, name: str) -> str | None:
        """The content hash of ``name``, or None when there is no such base."""
        base = self.knowledge_get(name)
        return base.content_hash if base is not None else None

    def knowledge_list(self) -> list[KnowledgeBase]:
        """Every knowledge base, by name."""
        with self._read() as session:
            rows = session.scalars(select(KnowledgeBaseRow).order_by(KnowledgeBaseRow.name))
            return [KnowledgeBase(r.name, dict(r.chunker), r.content_hash) for r in rows]

    def knowledge_save(self, name: str, chunker: Mapping[str, Any], content_hash: str = "") -> None:
        """Create the knowledge base or change its chunker settings and content hash."""
        with self._write() as session:
            row = session.get(KnowledgeBaseRow, name)
            if row is None:
                session.add(KnowledgeBaseRow(name=name, chunker=dict(chunker), content_hash=content_hash))
            else:
                row.chunker = dict(chunker)
                row.content_hash = content_hash
                row.updated_at = utcnow()

    def knowledge_documents(self, name: str) -> list[KnowledgeDocument]:
        """The documents of ``name`` by source path."""
        with self._read() as session:
            rows = session.scalars(
                select(KnowledgeDocumentRow)
                .where(KnowledgeDocumentRow.knowledge == name)
                .order_by(KnowledgeDocumentRow.source_path)
            )
            return [
                KnowledgeDocument(
                    r.id,
                    r.source_path,
                    r.sha256,
                    r.size,
                    r.parser,
                    r.parser_version,
                    r.encoding,
                    r.markdown,
                    dict(r.structure),
                )
                for r in rows
            ]

    def knowledge_put_document(self, name: str, document: KnowledgeDocument, chunks: Sequence[KnowledgeChunk]) -> int:
        """Store ``document`` (replacing the one at its source path, chunks included) with its chunks; its new id."""
        with self._write() as session:
            old = session.scalar(
                select(KnowledgeDocumentRow.id).where(
                    KnowledgeDocumentRow.knowledge == name, KnowledgeDocumentRow.source_path == document.source_path
                )
            )
            if old is not None:
                session.execute(delete(KnowledgeChunkRow).where(KnowledgeChunkRow.document_id == old))
                session.execute(delete(KnowledgeDocumentRow).where(KnowledgeDocumentRow.id == old))
            row = KnowledgeDocumentRow(
                knowledge=name,
                source_path=document.source_path,
                sha256=document.sha256,
                size=document.size,
                parser=document.parser,
                parser_version=document.parser_version,
                encoding=document.encoding,
                markdown=document.markdown,
                structure=document.structure,
            )
            session.add(row)
            session.flush()
            _add_chunks(session, name, row.id, chunks)
            return row.id

    def knowledge_replace_chunks(self, name: str, document_id: int, chunks: Sequence[KnowledgeChunk]) -> None:
        """Replace one document's chunks (after the chunker changed)."""
        with self._write() as session:
            session.execute(delete(KnowledgeChunkRow).where(KnowledgeChunkRow.document_id == document_id))
            _add_chunks(session, name, document_id, chunks)

    def knowledge_chunks(self, name: str, *, embeddings: bool = False) -> list[KnowledgeChunk]:
        """Every chunk of ``name`` in document and sequence order; embeddings read only when asked."""
        with self._read() as session:
            rows = session.execute(
                select(KnowledgeChunkRow, KnowledgeDocumentRow.source_path)
                .join(KnowledgeDocumentRow, KnowledgeDocumentRow.id == KnowledgeChunkRow.document_id)
                .where(KnowledgeChunkRow.knowledge == name)
                .order_by(KnowledgeDocumentRow.source_path, KnowledgeChunkRow.seq)
            )
            return [
                KnowledgeChunk(
                    c.id,
                    c.document_id,
                    path,
                    c.seq,
                    c.start,
                    c.end,
                    c.text,
                    list(c.section),
                    dict(c.anchors),
                    c.embedding if embeddings else None,
                )
                for c, path in rows
            ]

    def knowledge_set_embeddings(self, vectors: Mapping[str, bytes]) -> None:
        """Keep the embedding of each chunk id given."""
        with self._write() as session:
            for chunk_id, blob in vectors.items():
                session.execute(
                    update(KnowledgeChunkRow).where(KnowledgeChunkRow.id == chunk_id).values(embedding=blob)
                )


def _add_chunks(session: Any, name: str, document_id: int, chunks: Sequence[KnowledgeChunk]) -> None:
    session.add_all(
        KnowledgeChunkRow(
            id=c.id,
            knowledge=name,
            document_id=document_id,
            seq=c.seq,
            start=c.start,
            end=c.end,
            text=c.text,
            section=c.section,
            anchors=c.anchors,
            embedding=c.embedding,
        )
        for c in chunks
    )
