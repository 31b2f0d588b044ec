"""An approximate nearest-neighbour graph (HNSW, from usearch) over one index's unit vectors, keyed by row id."""

from __future__ import annotations

import importlib
import threading
from typing import Any

import numpy as np
from numpy.typing import NDArray

# HNSW settings, chosen on real KorSTS embeddings with `python -m bench.semantic_cache --ann-only`: at these
# values the graph's top 8 hold at least 0.99 of exact search's above-threshold top 8 (figures in bench/README.md).
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 96


def available() -> bool:
    """Whether usearch is installed (it is a dependency; without it the index searches exactly)."""
    try:
        importlib.import_module("usearch.index")
    except ImportError:  # pragma: no cover - a broken install; exact search still answers
        return False
    return True


class Graph:
    """Row ids and their vectors in an HNSW graph: the nearest ids by inner product (cosine on unit vectors)."""

    def __init__(self, dim: int) -> None:
        usearch: Any = importlib.import_module("usearch.index")
        # f16 halves the graph's copy of the vectors; exact cosines are recomputed from the float32 rows.
        self._graph = usearch.Index(
            ndim=dim,
            metric="ip",
            dtype="f16",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )
        self._lock = threading.Lock()  # adds and removes change the graph; a search must not see half of one

    def __len__(self) -> int:
        return len(self._graph)

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add rows (ids unique and not yet present)."""
        if ids.size:
            with self._lock:
                self._graph.add(ids.astype(np.uint64), vectors, threads=0)

    def remove(self, ids: NDArray[np.int64]) -> None:
        """Drop rows from the graph (ids that are not in it are ignored)."""
        if ids.size:
            with self._lock:
                self._graph.remove(ids.astype(np.uint64).tolist())

    def nearest(self, query: NDArray[np.float32], count: int) -> NDArray[np.int64]:
        """The ids of about the ``count`` nearest rows, nearest first."""
        with self._lock:
            matches = self._graph.search(query, min(count, len(self._graph)), threads=1)
        return np.asarray(matches.keys, dtype=np.int64)
