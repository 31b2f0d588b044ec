"""The in-memory vector index: unit vectors of one (feature, version, tenant, key), searched exactly or by HNSW."""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from andon.gateway.semcache import graph as ann

MAX_INDEX_ROWS = 1_000_000  # per (feature, version, tenant) in memory (2 GB of float32); older rows: exact hits only
# Below this many rows one mat-vec is cheaper than the graph (about 2 ms at 20,000 x 512 on one core); above it
# the HNSW graph answers and the exact cosines of its nearest rows decide.
ANN_MIN_ROWS = 20_000
ANN_MAX_COUNT = 4_096  # nearest rows asked of the graph at most before falling back to the exact scan

Vector = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Candidate:
    """An entry above the threshold: its row id, cosine, and request text."""

    id: int
    similarity: float
    free_text: str


class Index:
    """Unit vectors of one (feature, version, tenant) in a growing numpy matrix, with an HNSW graph once large.

    The matrix stays the record: the graph only proposes the nearest row ids, and the exact cosines of those
    rows decide, so a hit is judged against the threshold exactly as the full scan would judge it.
    """

    def __init__(self, dim: int, *, ann_min_rows: int = ANN_MIN_ROWS) -> None:
        self.dim = dim
        self.ann_min_rows = ann_min_rows
        self.graph: ann.Graph | None = None
        self._graphed_to = 0  # every row id up to this one is in the graph (ids only grow)
        self._graph_lock = threading.Lock()  # one builder or adder of the graph at a time
        self.lock = threading.Lock()
        self.size = 0
        self.vectors: Vector = np.zeros((0, dim), dtype=np.float32)
        self.ids: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.created: NDArray[np.float64] = np.zeros(0, dtype=np.float64)
        self.expires: NDArray[np.float64] = np.zeros(0, dtype=np.float64)
        self.scopes: NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self.texts: list[str] = []
        self.scope_codes: dict[str, int] = {}
        self.max_id = 0
        self.refreshed = -float("inf")  # clock time of the last read from the store

    def add(self, rows: Sequence[tuple[int, Vector, float, float, str, str]], now: float) -> None:
        """Append (id, vector, created, expires, free text, scope) rows, dropping the oldest past the cap."""
        rows = [r for r in rows if r[0] > self.max_id and r[1].shape == (self.dim,)]
        if not rows:
            return
        with self.lock:
            needed = self.size + len(rows)
            if needed > MAX_INDEX_ROWS:
                self._drop_oldest(needed - MAX_INDEX_ROWS, now)
            self._reserve(self.size + len(rows))
            start, stop = self.size, self.size + len(rows)
            self.vectors[start:stop] = np.stack([r[1] for r in rows])
            self.ids[start:stop] = [r[0] for r in rows]
            self.created[start:stop] = [r[2] for r in rows]
            self.expires[start:stop] = [r[3] for r in rows]
            self.scopes[start:stop] = [self.scope_codes.setdefault(r[5], len(self.scope_codes)) for r in rows]
            self.texts.extend(r[4] for r in rows)
            self.size = stop
            self.max_id = max(self.max_id, rows[-1][0])
            added_ids, added_vectors = self.ids[start:stop], self.vectors[start:stop]
        self._grow_graph(added_ids, added_vectors)

    def search(self, query: Vector, threshold: float, now: float, ttl_s: float, scope: str, k: int) -> list[Candidate]:
        """The best ``k`` live entries of ``scope`` with cosine >= ``threshold``, best first."""
        with self.lock:  # a consistent snapshot; the arrays are only replaced, never shrunk in place
            size, vectors, ids, texts = self.size, self.vectors, self.ids, self.texts
            created, expires, scopes = self.created, self.expires, self.scopes
            code = self.scope_codes.get(scope)
            graph = self.graph
        if code is None or size == 0:
            return []

        def live(rows: NDArray[np.intp]) -> NDArray[np.bool_]:
            mask: NDArray[np.bool_] = (scopes[rows] == code) & (expires[rows] > now) & (created[rows] + ttl_s > now)
            return mask

        if graph is not None and size >= self.ann_min_rows:
            found = _graph_search(graph, ids[:size], vectors, query, threshold, live, k)
            if found is not None:
                rows, sims = found
                return [Candidate(int(ids[i]), float(s), texts[i]) for i, s in zip(rows, sims, strict=True)]
        with _one_blas_thread():
            all_sims = vectors[:size] @ query
        above = np.flatnonzero(all_sims >= threshold)
        if above.size == 0:
            return []
        above = above[live(above)]
        best = above[np.argsort(-all_sims[above], kind="stable")[:k]]
        return [Candidate(int(ids[i]), float(all_sims[i]), texts[i]) for i in best]

    def forget_expired(self, now: float) -> None:
        """Drop rows whose time has passed (pruning keeps memory in step with the store)."""
        with self.lock:
            keep = np.flatnonzero(self.expires[: self.size] > now)
            if keep.size < self.size:
                self._keep(keep)

    def forget(self, entry_ids: Collection[int]) -> list[str]:
        """Drop the rows of ``entry_ids`` (deleted from the store); the request texts they held, for other memos."""
        if not entry_ids:
            return []
        with self.lock:
            gone = np.isin(self.ids[: self.size], np.fromiter(entry_ids, dtype=np.int64))
            if not gone.any():
                return []
            texts = [self.texts[i] for i in np.flatnonzero(gone)]
            self._keep(np.flatnonzero(~gone))
            return texts

    def _drop_oldest(self, count: int, now: float) -> None:
        keep = np.flatnonzero(self.expires[: self.size] > now)
        if keep.size > self.size - count:
            keep = keep[keep.size - (self.size - count) :]
        self._keep(keep)

    def _keep(self, keep: NDArray[np.intp]) -> None:
        # New arrays rather than in-place compaction: a search holding the old snapshot stays correct.
        if self.graph is not None:
            dropped = np.ones(self.size, dtype=bool)
            dropped[keep] = False
            self.graph.remove(self.ids[: self.size][dropped])
        self.vectors = self.vectors[keep].copy()
        self.ids, self.created = self.ids[keep].copy(), self.created[keep].copy()
        self.expires, self.scopes = self.expires[keep].copy(), self.scopes[keep].copy()
        self.texts = [self.texts[i] for i in keep]
        self.size = int(keep.size)

    def _reserve(self, needed: int) -> None:
        if needed <= self.vectors.shape[0]:
            return
        capacity = max(needed, 2 * self.vectors.shape[0], 64)
        vectors = np.zeros((capacity, self.dim), dtype=np.float32)
        vectors[: self.size] = self.vectors[: self.size]
        self.vectors = vectors
        self.ids = _grown(self.ids, capacity, self.size)
        self.created = _grown(self.created, capacity, self.size)
        self.expires = _grown(self.expires, capacity, self.size)
        self.scopes = _grown(self.scopes, capacity, self.size)


    def _grow_graph(self, added_ids: NDArray[np.int64], added_vectors: Vector) -> None:
        """Add new rows to the graph, or build it from every row once the index reaches ``ann_min_rows``."""
        with self._graph_lock:
            if self.graph is None:
                if self.size < self.ann_min_rows or not ann.available():
                    return
                with self.lock:
                    added_ids, added_vectors = self.ids[: self.size].copy(), self.vectors[: self.size].copy()
                graph = ann.Graph(self.dim)
            else:
                graph = self.graph
            fresh = added_ids > self._graphed_to  # a row the graph already took from a snapshot is not added twice
            graph.add(added_ids[fresh], added_vectors[fresh])
            if added_ids.size:
                self._graphed_to = max(self._graphed_to, int(added_ids[-1]))
            self.graph = graph


def _graph_search(
    graph: ann.Graph,
    ids: NDArray[np.int64],
    vectors: Vector,
    query: Vector,
    threshold: float,
    live: Callable[[NDArray[np.intp]], NDArray[np.bool_]],
    k: int,
) -> tuple[NDArray[np.intp], NDArray[np.float32]] | None:
    """The best ``k`` live rows above ``threshold`` among the graph's nearest, or None to scan exactly.

    Asks for more neighbours while all it got were above the threshold yet too few were live (other scopes,
    expired rows), and gives up to the exact scan past :data:`ANN_MAX_COUNT`.
    """
    count = max(4 * k, 32)
    while count <= ANN_MAX_COUNT:
        keys = graph.nearest(query, count)
        rows = _matching(ids, keys)
        sims = vectors[rows] @ query
        above = sims >= threshold
        keep = np.flatnonzero(above)[live(rows[above])]
        if keep.size >= k or keys.size < count or not above.all():
            best = keep[np.argsort(-sims[keep], kind="stable")[:k]]
            return rows[best], sims[best]
        count *= 4
    return None


def _matching(ids: NDArray[np.int64], keys: NDArray[np.int64]) -> NDArray[np.intp]:
    """Rows of ``ids`` (sorted) holding ``keys``, skipping keys that are no longer there."""
    rows = np.searchsorted(ids, keys).astype(np.intp)
    inside = rows < ids.size
    rows, keys = rows[inside], keys[inside]
    present: NDArray[np.intp] = rows[ids[rows] == keys]
    return present


def _grown(array: NDArray[Any], capacity: int, size: int) -> NDArray[Any]:
    grown = np.zeros(capacity, dtype=array.dtype)
    grown[:size] = array[:size]
    return grown


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    # Measured: one BLAS thread runs this memory-bound mat-vec faster than two on a 2-core machine.
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:  # pragma: no cover - the embedder's own dependency brings it
        yield
        return
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        yield
