"""The in-memory vector index: unit vectors of one (feature, version, tenant, key) searched by one mat-vec."""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

MAX_INDEX_ROWS = 200_000  # per (feature, version, tenant) in memory; older rows then serve exact hits only

Vector = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Candidate:
    """An entry above the threshold: its row id, cosine, and request text."""

    id: int
    similarity: float
    free_text: str


class Index:
    """Unit vectors of one (feature, version, tenant) in a growing numpy matrix, searched by one mat-vec."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
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

    def search(self, query: Vector, threshold: float, now: float, ttl_s: float, scope: str, k: int) -> list[Candidate]:
        """The best ``k`` live entries of ``scope`` with cosine >= ``threshold``, best first."""
        with self.lock:  # a consistent snapshot; the arrays are only replaced, never shrunk in place
            size, vectors, ids, texts = self.size, self.vectors, self.ids, self.texts
            created, expires, scopes = self.created, self.expires, self.scopes
            code = self.scope_codes.get(scope)
        if code is None or size == 0:
            return []
        with _one_blas_thread():
            sims = vectors[:size] @ query
        above = np.flatnonzero(sims >= threshold)
        if above.size == 0:
            return []
        live = (scopes[above] == code) & (expires[above] > now) & (created[above] + ttl_s > now)
        above = above[live]
        best = above[np.argsort(-sims[above], kind="stable")[:k]]
        return [Candidate(int(ids[i]), float(sims[i]), texts[i]) for i in best]

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
