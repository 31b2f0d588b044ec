"""From a chunker's spans to stored chunks: each keeps its document, section path and page/line anchors."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from andon.knowledge.chunkers import Chunker
from andon.store.knowledge import KnowledgeChunk


def make_chunks(
    knowledge: str, source_path: str, sha256: str, markdown: str, blocks: Sequence[dict[str, Any]], chunker: Chunker
) -> list[KnowledgeChunk]:
    """Chunks of one document, ids stable for the same (base, path, bytes, chunker, span)."""
    ordered = sorted(blocks, key=lambda b: int(b["start"]))
    starts = [int(b["start"]) for b in ordered]
    chunker_key = repr(sorted(chunker.spec().items()))
    chunks: list[KnowledgeChunk] = []
    for seq, (start, end) in enumerate(chunker.split(markdown, ordered)):
        if not markdown[start:end].strip():
            continue
        touched = [b for b in ordered if int(b["start"]) < end and int(b["end"]) > start]
        # The section of the block the chunk starts in (or the last one before it).
        first = ordered[max(0, bisect_right(starts, start) - 1)] if ordered else None
        section = list(first["section"]) if first is not None else []
        anchors: dict[str, Any] = {}
        pages = sorted({int(b["page"]) for b in touched if b.get("page")})
        lines = sorted({int(b["line"]) for b in touched if b.get("line")})
        if pages:
            anchors["pages"] = pages
        if lines:
            anchors["lines"] = [lines[0], lines[-1]]
        digest = hashlib.sha256(
            "\0".join([knowledge, source_path, sha256, chunker_key, str(start), str(end)]).encode()
        ).hexdigest()
        chunks.append(
            KnowledgeChunk(digest[:32], 0, source_path, seq, start, end, markdown[start:end], section, anchors)
        )
    return chunks


def citation(chunk: KnowledgeChunk) -> str:
    """``규정집.hwp › 제3장 › 제12조 (p. 4)``: where a chunk came from, for people."""
    name = chunk.source_path.rsplit("/", 1)[-1]
    where = " › ".join([name, *chunk.section])
    if chunk.anchors.get("pages"):
        pages = chunk.anchors["pages"]
        where += f" (p. {pages[0]}" + (f"–{pages[-1]})" if len(pages) > 1 else ")")
    elif chunk.anchors.get("lines"):
        first, last = chunk.anchors["lines"]
        where += f" (l. {first}" + (f"–{last})" if last != first else ")")
    return where
