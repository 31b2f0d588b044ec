"""``andon knowledge add``: files and folders parsed, chunked and stored; unchanged files (same sha256,
parser and chunker) skipped; a file that fails is reported with why and the rest still goes in."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from andon.embeddings import Embedder
from andon.errors import ConfigError
from andon.knowledge.chunkers import DEFAULT_CHUNKER, build_chunker
from andon.knowledge.chunking import make_chunks
from andon.knowledge.document import DocumentError
from andon.knowledge.parsers import parse_file, supported
from andon.messages import t
from andon.store import Store
from andon.store.knowledge import KnowledgeChunk, KnowledgeDocument

EMBED_BATCH = 64


@dataclass
class AddReport:
    """What one ``add`` did: files added or replaced, unchanged, failed (with why), and notes per file."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    rechunked: int = 0
    chunks: int = 0
    content_hash: str = ""


def _files(paths: Sequence[Path], report: AddReport) -> Iterator[tuple[Path, str]]:
    """``(file, source path)``: a folder's supported files recursively (hidden ones skipped), in name order."""
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(path)
                if file.is_file() and supported(file) and not any(p.startswith(".") for p in relative.parts):
                    yield file, f"{path.resolve().name}/{relative.as_posix()}"
        elif path.is_file():
            yield path, path.name
        else:
            report.failed.append((str(path), t("knowledge.add.missing")))


def add_paths(
    store: Store,
    name: str,
    paths: Sequence[Path],
    *,
    chunker: dict[str, Any] | None = None,
    embedder: Embedder | None = None,
) -> AddReport:
    """Add ``paths`` to the knowledge base ``name`` (created on first use); a new ``chunker`` re-chunks it all."""
    if not name.strip() or len(name) > 200:
        raise ConfigError(t("knowledge.name.bad", name=name), where="NAME")
    base = store.knowledge_get(name)
    spec = dict(chunker or (base.chunker if base else DEFAULT_CHUNKER))
    built = build_chunker(spec)
    spec = built.spec()
    report = AddReport()
    if base is None or base.chunker != spec:
        store.knowledge_save(name, spec, base.content_hash if base else "")
        for document in store.knowledge_documents(name) if base else []:
            chunks = make_chunks(
                name, document.source_path, document.sha256, document.markdown, document.structure["blocks"], built
            )
            store.knowledge_replace_chunks(name, document.id, chunks)
            report.rechunked += 1
    known = {d.source_path: d for d in store.knowledge_documents(name)}
    for file, source in _files(paths, report):
        try:
            data = file.read_bytes()
        except OSError as exc:
            report.failed.append((str(file), exc.strerror or str(exc)))
            continue
        digest = hashlib.sha256(data).hexdigest()
        old = known.get(source)
        if old is not None and old.sha256 == digest:
            report.unchanged.append(source)
            continue
        try:
            parsed = parse_file(file, data)
        except DocumentError as exc:
            report.failed.append((str(file), str(exc)))
            continue
        markdown, _ = parsed.layout()
        structure = parsed.structure()
        document = KnowledgeDocument(
            0, source, digest, len(data), parsed.parser, parsed.parser_version, parsed.encoding, markdown, structure
        )
        chunks = make_chunks(name, source, digest, markdown, structure["blocks"], built)
        store.knowledge_put_document(name, document, chunks)
        report.added.append(source)
        report.notes.extend((source, note) for note in parsed.notes)
        if parsed.encoding and parsed.encoding not in {"utf-8", "declared in the XML"}:
            report.notes.append((source, t("knowledge.add.encoding", encoding=parsed.encoding)))
    if embedder is not None:
        embed_missing(store, name, embedder)
    report.content_hash = content_hash(store, name)
    store.knowledge_save(name, spec, report.content_hash)
    report.chunks = len(store.knowledge_chunks(name))
    return report


def embed_missing(store: Store, name: str, embedder: Embedder) -> int:
    """Embed the chunks of ``name`` that have no vector yet; how many were embedded."""
    missing = [c for c in store.knowledge_chunks(name, embeddings=True) if c.embedding is None]
    for batch in _batches(missing, EMBED_BATCH):
        vectors = embedder.embed([c.text for c in batch])
        store.knowledge_set_embeddings(
            {c.id: np.asarray(v, dtype=np.float32).tobytes() for c, v in zip(batch, vectors, strict=True)}
        )
    return len(missing)


def _batches(items: Sequence[KnowledgeChunk], size: int) -> Iterable[Sequence[KnowledgeChunk]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def content_hash(store: Store, name: str) -> str:
    """sha256 of the base's chunker and its documents (path, bytes, parser): any change gives a new hash."""
    base = store.knowledge_get(name)
    documents = [[d.source_path, d.sha256, d.parser, d.parser_version] for d in store.knowledge_documents(name)]
    payload = {"chunker": base.chunker if base else None, "documents": documents}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
