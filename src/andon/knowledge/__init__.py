"""Knowledge bases: documents in (TXT/Markdown, HTML, CSV, DOCX, HWPX, PDF, XML) → Markdown + JSON
structure → chunks → BM25 / dense / hybrid retrieval."""

from __future__ import annotations

from andon.knowledge.chunkers import CHUNKERS, Chunker, ChunkerSettings, build_chunker
from andon.knowledge.chunking import citation, make_chunks
from andon.knowledge.ingest import AddReport, add_paths, content_hash
from andon.knowledge.retrieval import Hit, search

__all__ = [
    "CHUNKERS", "AddReport", "Chunker", "ChunkerSettings", "Hit", "add_paths", "build_chunker", "citation",
    "content_hash", "make_chunks", "search",
]  # fmt: skip
