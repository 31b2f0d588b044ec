"""Search a knowledge base: BM25 on Korean morphemes, dense cosine on the offline embedder, or both fused
by reciprocal rank fusion. Dense search goes through :class:`andon.vectors.VectorIndex` (exact below 20,000
chunks, HNSW above), saved beside the store and brought in step with the chunks when it loads; on a
PostgreSQL server with pgvector, through a vector column with an HNSW index instead
(:mod:`andon.knowledge.pgvector`)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from sqlalchemy import Engine

from andon.embeddings import Embedder
from andon.errors import ConfigError, NotFoundError
from andon.knowledge import pgvector
from andon.knowledge.bm25 import BM25
from andon.knowledge.ingest import embed_missing
from andon.knowledge.pgvector import DenseIndex, PgVectorIndex
from andon.knowledge.tokenize import tokens, tokens_many
from andon.messages import t
from andon.store import Store
from andon.store.knowledge import KnowledgeChunk
from andon.vectors import VectorIndex, index_path

Mode = Literal["bm25", "dense", "hybrid"]
MODES: tuple[Mode, ...] = ("bm25", "dense", "hybrid")
RRF_K = 60  # the constant of Cormack et al. (2009): 1/(60 + rank)
CANDIDATES = 50  # depth of each ranked list before fusion
_CACHE_SIZE = 8
# Hybrid searches that may run their BM25 side in a helper thread at once; the rest run both sides in turn
# rather than queue behind them (a queue would add its wait to the very tail this shortens).
SIDE_THREADS = 2


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved chunk, its fused (or single-mode) score and 1-based rank in each list it appeared in."""

    chunk: KnowledgeChunk
    score: float
    bm25_rank: int | None
    dense_rank: int | None


class Index:
    """The chunks of one knowledge base, their BM25 postings and (when embedded) their unit vectors."""

    concurrent: bool = True  # hybrid: the BM25 side beside the dense one (False: one after the other)

    def __init__(
        self,
        chunks: Sequence[KnowledgeChunk],
        embedder: Embedder | None,
        vector_path: Path | None = None,
        *,
        pg: tuple[Engine, str] | None = None,
    ) -> None:
        """``vector_path``: where the vector index is saved between processes (None: built in memory only);
        ``pg``: the engine and base name whose vectors live in pgvector instead (then nothing is saved)."""
        self.chunks = list(chunks)
        self.embedder = embedder
        self.bm25 = BM25(tokens_many([c.text for c in self.chunks]))
        self.vectors: DenseIndex | None = None
        self.positions: dict[int, int] = {}  # vector id -> position in chunks
        if embedder is not None and self.chunks and all(c.embedding is not None for c in self.chunks):
            matrix = np.vstack([np.frombuffer(c.embedding or b"", dtype=np.float32) for c in self.chunks])
            keys = np.array([vector_key(c.id) for c in self.chunks], dtype=np.int64)
            self.positions = {int(key): at for at, key in enumerate(keys.tolist())}
            dim = matrix.shape[1]
            if pg is not None:
                self.vectors = PgVectorIndex(pg[0], pg[1], dim)
                self.vectors.sync(keys, matrix)
                return
            vectors = VectorIndex.load(vector_path, dim) if vector_path is not None else None
            vectors = VectorIndex(dim) if vectors is None else vectors
            added, removed = vectors.sync(keys, matrix)
            if vector_path is not None and (added or removed):
                vectors.save(vector_path)
            self.vectors = vectors

    def ranked(self, query: str, mode: Mode, depth: int) -> list[tuple[int, float]]:
        """``(chunk index, score)`` best first, at most ``depth``; zero-score BM25 rows left out."""
        if mode == "bm25":
            return self.bm25.top(tokens(query), depth)
        if self.vectors is None or self.embedder is None:
            return []
        vector = self.embedder.embed([query])[0]
        ids, sims = self.vectors.search(vector, depth)
        found = [(self.positions[key], float(sim)) for key, sim in zip(ids.tolist(), sims.tolist(), strict=True)]
        return sorted(found, key=lambda pair: (-pair[1], pair[0]))  # equal scores by position, as BM25

    def search(self, query: str, k: int = 5, mode: Mode = "hybrid") -> list[Hit]:
        """The ``k`` best chunks for ``query``."""
        if mode not in MODES:
            raise ConfigError(t("knowledge.mode.bad", mode=mode), where="mode")
        depth = max(k, CANDIDATES)
        lists = self._hybrid_lists(query, depth) if mode == "hybrid" else {mode: self.ranked(query, mode, depth)}
        ranks = {m: {i: r for r, (i, _) in enumerate(hits, start=1)} for m, hits in lists.items()}
        fused = fuse([[i for i, _ in hits] for hits in lists.values()]) if mode == "hybrid" else lists[mode]
        order = fused[:k]
        return [
            Hit(self.chunks[i], float(score), ranks.get("bm25", {}).get(i), ranks.get("dense", {}).get(i))
            for i, score in order
        ]

    def _hybrid_lists(self, query: str, depth: int) -> dict[Mode, list[tuple[int, float]]]:
        """Both ranked lists: BM25 in a helper thread while this one embeds the query and asks the vector
        index (numpy, usearch and Kiwi let go of the GIL), in turn when :attr:`concurrent` is off, there is
        no dense side, or every helper is busy."""
        side = _side_future(self, query, depth) if self.concurrent and self.vectors is not None else None
        if side is None:
            return {"bm25": self.ranked(query, "bm25", depth), "dense": self.ranked(query, "dense", depth)}
        try:
            dense = self.ranked(query, "dense", depth)
        finally:
            bm25 = side.result()  # waited for even when the dense side failed: no stray work left behind
        return {"bm25": bm25, "dense": dense}


_side_pool: ThreadPoolExecutor | None = None
_side_slots = threading.BoundedSemaphore(SIDE_THREADS)
_side_lock = threading.Lock()


def _side_future(index: Index, query: str, depth: int) -> Future[list[tuple[int, float]]] | None:
    """The BM25 list of ``query`` computing in a helper thread, or None when all helpers are busy."""
    global _side_pool
    if not _side_slots.acquire(blocking=False):
        return None
    try:
        with _side_lock:
            if _side_pool is None:
                _side_pool = ThreadPoolExecutor(SIDE_THREADS, thread_name_prefix="andon-bm25")
        return _side_pool.submit(_side, index, query, depth)
    except BaseException:
        _side_slots.release()
        raise


def _side(index: Index, query: str, depth: int) -> list[tuple[int, float]]:
    try:
        return index.ranked(query, "bm25", depth)
    finally:
        _side_slots.release()  # before the result is handed over: the next search finds the slot free


def fuse(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: each item scores the sum of 1/(k + rank) over the lists it is in, best first."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))


def vector_key(chunk_id: str) -> int:
    """The vector index's id of a chunk: 63 bits of a hash of its id (stable across processes and hashes)."""
    return int.from_bytes(hashlib.blake2b(chunk_id.encode(), digest_size=8).digest(), "big") >> 1


_cache: OrderedDict[tuple[str, str, str, str], Index] = OrderedDict()
_cache_lock = threading.Lock()
_building: dict[tuple[str, str, str, str], threading.Lock] = {}  # one build per index: concurrent cold cells wait


def load_index(store: Store, name: str, embedder: Embedder | None) -> Index:
    """The index of ``name`` at its current content hash (built once per process); chunks without vectors
    are embedded first when an embedder is given."""
    base = store.knowledge_get(name)
    if base is None:
        raise NotFoundError(t("knowledge.missing", name=name), hint=t("knowledge.missing_hint", name=name))
    key = (str(store.engine.url), name, base.content_hash, embedder.name if embedder else "")
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        building = _building.setdefault(key, threading.Lock())
    with building:
        with _cache_lock:
            if key in _cache:  # another thread built it while this one waited
                return _cache[key]
        if embedder is not None:
            embed_missing(store, name, embedder)
        path, pg = None, None
        if embedder is not None:
            identity = json.dumps([name, embedder.name])
            if pgvector.usable(store.engine):
                pg = (store.engine, identity)
            else:
                digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
                path = index_path(str(store.engine.url), f"knowledge-{digest}")
        index = Index(store.knowledge_chunks(name, embeddings=embedder is not None), embedder, path, pg=pg)
        with _cache_lock:
            _cache[key] = index
            _building.pop(key, None)
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return index


def search(
    store: Store, name: str, query: str, *, k: int = 5, mode: Mode = "hybrid", embedder: Embedder | None = None
) -> list[Hit]:
    """Search the knowledge base ``name``; ``dense`` and ``hybrid`` need an embedder."""
    if mode not in MODES:
        raise ConfigError(t("knowledge.mode.bad", mode=mode), where="mode")
    if mode != "bm25" and embedder is None:
        from andon.embeddings import default_embedder

        embedder = default_embedder()
    return load_index(store, name, embedder if mode != "bm25" else None).search(query, k, mode)
