"""The in-memory index of one (feature, version, tenant, key): entry metadata, vectors in andon.vectors."""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from andon.vectors import VectorIndex

# Rows per (feature, version, tenant, key) in memory; older rows then serve exact hits only. In the f16 graph
# a row costs about 1.45 kB (512 × 2 bytes and its links: usearch reported 145 MB at 100,800 rows, see
# bench/README.md), so a full scope holds about 1.5 GB: the cap bounds memory (pass a smaller max_rows where
# that is too much); a million is the size the issue asks the cache to serve.
MAX_INDEX_ROWS = 1_000_000
# How the graph stores vectors: chosen on bench/ann.py's recall against exact search (bench/README.md).
VECTOR_DTYPE = "f16"

Vector = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Candidate:
    """An entry above the threshold: its row id, cosine, and request text."""

    id: int
    similarity: float
    free_text: str


class Index:
    """Entries of one (feature, version, tenant): their vectors in a :class:`VectorIndex`, the rest in arrays.

    Searches take candidates from the vector index (approximate above a few thousand rows), then keep those
    above the threshold, of the scope and alive; when every candidate fetched passed the threshold but too
    few were alive, it fetches deeper, so a crowd of expired or other-scope neighbours never hides a hit.
    """

    def __init__(self, dim: int, vectors: VectorIndex | None = None, *, max_rows: int = MAX_INDEX_ROWS) -> None:
        self.dim = dim
        self.max_rows = max_rows
        self.lock = threading.Lock()
        self.vectors = VectorIndex(dim, background=True, dtype=VECTOR_DTYPE) if vectors is None else vectors
        self.size = 0
        self.ids: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.created: NDArray[np.float64] = np.zeros(0, dtype=np.float64)
        self.expires: NDArray[np.float64] = np.zeros(0, dtype=np.float64)
        self.scopes: NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self.texts: list[str] = []
        self.rows: dict[int, int] = {}  # entry id -> position in the arrays
        self.scope_codes: dict[str, int] = {}
        self.max_id = 0
        self.refreshed = -float("inf")  # clock time of the last read from the store
        self.unsaved = 0  # rows added since the vectors were last saved

    def add(self, rows: Sequence[tuple[int, Vector | None, float, float, str, str]], now: float) -> None:
        """Append (id, vector, created, expires, free text, scope) rows, dropping the oldest past the cap.

        A vector of None means the vector index holds that id already (loaded from its saved file).
        """
        rows = [r for r in rows if r[0] > self.max_id and (r[1] is None or r[1].shape == (self.dim,))]
        if not rows:
            return
        fresh = [r for r in rows if r[1] is not None]
        if fresh:  # outside the lock: a graph insert takes a while, and searches meanwhile stay correct
            self.vectors.add([r[0] for r in fresh], np.stack([r[1] for r in fresh if r[1] is not None]))
        with self.lock:
            needed = self.size + len(rows)
            if needed > self.max_rows:
                self._drop_oldest(needed - self.max_rows, now)
            self._reserve(self.size + len(rows))
            start, stop = self.size, self.size + len(rows)
            self.ids[start:stop] = [r[0] for r in rows]
            self.created[start:stop] = [r[2] for r in rows]
            self.expires[start:stop] = [r[3] for r in rows]
            self.scopes[start:stop] = [self.scope_codes.setdefault(r[5], len(self.scope_codes)) for r in rows]
            self.texts.extend(r[4] for r in rows)
            self.rows.update((r[0], start + i) for i, r in enumerate(rows))
            self.size = stop
            self.max_id = max(self.max_id, rows[-1][0])
            self.unsaved += len(fresh)

    def search(self, query: Vector, threshold: float, now: float, ttl_s: float, scope: str, k: int) -> list[Candidate]:
        """The best ``k`` live entries of ``scope`` with cosine >= ``threshold``, best first."""
        with self.lock:
            code, size = self.scope_codes.get(scope), self.size
        if code is None or size == 0:
            return []
        depth = max(4 * k, 32)
        while True:
            ids, sims = self.vectors.search(query, depth)
            keep = sims >= threshold
            found: list[Candidate] = []
            with self.lock:  # positions change when rows are dropped: read them with the arrays they index
                for entry_id, sim in zip(ids[keep].tolist(), sims[keep].tolist(), strict=True):
                    at = self.rows.get(entry_id)
                    if at is None or self.scopes[at] != code or self.expires[at] <= now:
                        continue
                    if self.created[at] + ttl_s > now:
                        found.append(Candidate(entry_id, sim, self.texts[at]))
            exhausted = ids.size < depth or not bool(keep.all())
            if len(found) >= k or exhausted or depth >= size:
                # Equal cosines keep id order, as the exact scan did.
                found.sort(key=lambda c: (-c.similarity, c.id))
                return found[:k]
            depth = min(4 * depth, size)

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
        dropped = np.setdiff1d(np.arange(self.size), keep, assume_unique=True)
        self.vectors.remove(self.ids[dropped].tolist())
        self.ids, self.created = self.ids[keep].copy(), self.created[keep].copy()
        self.expires, self.scopes = self.expires[keep].copy(), self.scopes[keep].copy()
        self.texts = [self.texts[i] for i in keep]
        self.rows = {int(entry_id): at for at, entry_id in enumerate(self.ids.tolist())}
        self.size = int(keep.size)

    def _reserve(self, needed: int) -> None:
        if needed <= self.ids.shape[0]:
            return
        capacity = max(needed, 2 * self.ids.shape[0], 64)
        self.ids = _grown(self.ids, capacity, self.size)
        self.created = _grown(self.created, capacity, self.size)
        self.expires = _grown(self.expires, capacity, self.size)
        self.scopes = _grown(self.scopes, capacity, self.size)


def _grown(array: NDArray[Any], capacity: int, size: int) -> NDArray[Any]:
    grown = np.zeros(capacity, dtype=array.dtype)
    grown[:size] = array[:size]
    return grown
