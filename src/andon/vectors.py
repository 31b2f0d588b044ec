"""A cosine nearest-neighbour index over (integer id, unit vector): exact below 20,000 rows, HNSW above.

Below :data:`EXACT_BELOW` rows one float32 mat-vec is as fast as a graph and exact; at that size the rows move
into a usearch HNSW graph (chosen on the figures of ``bench/ann.py``, in bench/README.md). The index saves to
one file plus a small JSON beside it, and remembers the highest id it holds, so a caller can reload it and add
only the rows its store gained since (:meth:`VectorIndex.high_water`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

# Measured (bench/ann.py, bench/README.md): at 20,000 × 512 the mat-vec (1.5 ms p50) and the graph at ef 128
# (1.2 ms) are level; below that the mat-vec is faster, and it is exact.
EXACT_BELOW = 20_000
_log = logging.getLogger(__name__)
CONNECTIVITY = 16  # HNSW M
EXPANSION_ADD = 128  # efConstruction
EXPANSION_SEARCH = 128  # ef at query time (raised to k when k is larger)
FORMAT = 1  # of the JSON beside a saved index; another value is not read (the caller rebuilds)
DTYPES = ("f32", "f16", "i8")  # how the graph stores a vector: 4, 2 or 1 byte a dimension (exact mode is f32)
# How far a stored vector may be from the one given and still count as the same row in :meth:`sync`: the
# graph's own rounding (f16: 2^-11 relative; i8: a step of 1/127), not a changed row.
_SAME_WITHIN = {"f32": 1e-6, "f16": 2e-3, "i8": 1.5e-2}

Vector = NDArray[np.float32]
Ids = NDArray[np.int64]


class VectorIndex:
    """Unit vectors by non-negative integer id, searched by cosine; one lock makes it safe across threads."""

    def __init__(
        self,
        dim: int,
        *,
        exact_below: int = EXACT_BELOW,
        expansion_search: int = EXPANSION_SEARCH,
        expansion_add: int = EXPANSION_ADD,
        build_threads: int = 0,
        background: bool = False,
        dtype: str = "f32",
    ) -> None:
        """``build_threads`` for bulk adds of 1,000 rows or more (0: every core; 1 makes the graph reproducible).

        ``dtype``: how the graph stores vectors (one of :data:`DTYPES`): f16 halves its memory, i8 quarters it,
        at the recall measured in ``bench/ann.py``; cosines then carry that rounding.

        ``background``: the graph is built in a thread when the rows reach ``exact_below``; searches stay exact
        (slower, never wrong) until it is ready, so no caller waits minutes for it (a gateway's first lookup).
        """
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
        self.dim = dim
        self.dtype = dtype
        self.background = background
        self._building: threading.Thread | None = None
        self._journal: list[tuple[Ids, Vector | None]] = []  # changes made while a graph is built: (ids, vectors)
        self.build_threads = build_threads
        self.exact_below = exact_below
        self.expansion_search = expansion_search
        self.expansion_add = expansion_add
        self._lock = threading.Lock()
        self._graph: Any = None  # a usearch Index once the rows reach exact_below
        self._matrix: Vector = np.zeros((0, dim), dtype=np.float32)
        self._ids: Ids = np.zeros(0, dtype=np.int64)
        self._rows: dict[int, int] = {}  # id -> row of _matrix (exact mode only)
        self._high_water = -1

    @property
    def high_water(self) -> int:
        """The highest id ever added (-1 when none): a store's rows above it are the ones not yet here."""
        return self._high_water

    @property
    def approximate(self) -> bool:
        """Whether searches go through the HNSW graph (False: exact mat-vec)."""
        return self._graph is not None

    def __len__(self) -> int:
        with self._lock:
            return self._count_locked()

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int | np.integer):
            return False
        with self._lock:
            return bool(self._graph.contains(int(key))) if self._graph is not None else int(key) in self._rows

    def add(self, ids: ArrayLike, vectors: ArrayLike) -> None:
        """Add (or replace) rows; ``vectors`` of shape (n, dim), unit length (cosine = inner product)."""
        keys = np.asarray(ids, dtype=np.int64).reshape(-1)
        block = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if keys.size != block.shape[0]:
            raise ValueError(f"{keys.size} ids for {block.shape[0]} vectors")
        if keys.size == 0:
            return
        if keys.min() < 0:
            raise ValueError("vector ids must be >= 0")
        keys, block = _last_of_each(keys, block)
        with self._lock:
            self._remove_locked(keys)
            if self._building is not None:
                self._journal.append((keys.copy(), block.copy()))
            if self._graph is None and self._building is None and len(self._rows) + keys.size >= self.exact_below:
                if self.background:
                    self._append(keys, block)
                    self._high_water = max(self._high_water, int(keys.max()))
                    self._start_build()
                    return
                self._to_graph()
            if self._graph is not None:
                self._graph.add(keys.astype(np.uint64), block, threads=self._threads(keys.size))
            else:
                self._append(keys, block)
            self._high_water = max(self._high_water, int(keys.max()))

    def remove(self, ids: Iterable[int]) -> int:
        """Drop these ids (unknown ones are ignored); how many were present."""
        keys = np.fromiter((int(i) for i in ids), dtype=np.int64)
        with self._lock:
            if self._building is not None:
                self._journal.append((keys.copy(), None))
            return self._remove_locked(keys)

    def wait_built(self, timeout: float | None = None) -> bool:
        """Wait for a graph being built in the background; whether none is being built any more."""
        building = self._building
        if building is not None:
            building.join(timeout)
        return self._building is None

    def ids(self) -> Ids:
        """Every id present, in no particular order."""
        with self._lock:
            if self._graph is not None:
                return np.asarray(self._graph.keys, dtype=np.int64).copy()
            return self._ids[: len(self._rows)].copy()

    def vectors_of(self, ids: ArrayLike) -> Vector:
        """The stored vectors of ``ids`` (rows of NaN for ids not present), shape (n, dim)."""
        keys = np.asarray(ids, dtype=np.int64).reshape(-1)
        out = np.full((keys.size, self.dim), np.nan, dtype=np.float32)
        with self._lock:
            if self._graph is not None:
                present = np.flatnonzero([self._graph.contains(int(k)) for k in keys.tolist()])
                if present.size:
                    found = self._graph.get(keys[present].astype(np.uint64))
                    block = np.asarray(found, dtype=np.float32).reshape(present.size, self.dim)
                    if self.dtype == "i8":  # stored scaled to the int8 range: back to unit length
                        block /= np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
                    out[present] = block
            else:
                for at, key in enumerate(keys.tolist()):
                    row = self._rows.get(key)
                    if row is not None:
                        out[at] = self._matrix[row]
        return out

    def sync(self, ids: ArrayLike, vectors: ArrayLike) -> tuple[int, int]:
        """Make the index hold exactly these rows, touching only what differs; (rows added, rows removed).

        This is the incremental rebuild after a load: ids the store no longer has go, ids it gained (or that
        it reused for another vector: SQLite may hand out a deleted row's id again) are added.
        """
        keys = np.asarray(ids, dtype=np.int64).reshape(-1)
        block = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        gone = np.setdiff1d(self.ids(), keys)
        removed = self.remove(gone.tolist())
        changed = np.zeros(keys.size, dtype=bool)
        tolerance = _SAME_WITHIN[self.dtype] if self.approximate else _SAME_WITHIN["f32"]
        for start in range(0, keys.size, 10_000):  # compared in slices: no second full copy in memory
            held = self.vectors_of(keys[start : start + 10_000])
            with np.errstate(invalid="ignore"):
                same = np.all(np.abs(held - block[start : start + 10_000]) <= tolerance, axis=1)
            changed[start : start + 10_000] = ~same
        if changed.any():
            self.add(keys[changed], block[changed])
        return int(changed.sum()), removed

    def search(self, query: ArrayLike, k: int) -> tuple[Ids, NDArray[np.float32]]:
        """The ``k`` nearest ids and their cosines, best first (fewer when the index holds fewer)."""
        vector = np.ascontiguousarray(query, dtype=np.float32).reshape(self.dim)
        with self._lock:
            if k <= 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            if self._graph is None:
                return self._exact(vector, k)
            graph = self._graph
            graph.expansion_search = max(self.expansion_search, k)
            found = graph.search(vector, min(k, len(graph)), threads=1)
            keys = np.asarray(found.keys, dtype=np.int64)
            return keys, (1.0 - np.asarray(found.distances, dtype=np.float32)).astype(np.float32)

    def save(self, path: Path) -> None:
        """Write the index to ``path`` (and ``path``.json), each replaced atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(path.name + f".{os.getpid()}.tmp")
        with self._lock:
            if self._graph is not None:
                self._graph.save(str(temp))
            else:
                size = len(self._rows)
                with temp.open("wb") as handle:
                    np.savez(handle, ids=self._ids[:size], vectors=self._matrix[:size])
            graph = self._graph is not None
            meta = {
                "format": FORMAT,
                "dim": self.dim,
                "dtype": self.dtype,
                "high_water": self._high_water,
                "graph": graph,
            }
        os.replace(temp, path)
        _write_json(path.with_name(path.name + ".json"), meta)

    @classmethod
    def load(cls, path: Path, dim: int, **options: Any) -> VectorIndex | None:
        """The index saved at ``path``, or None when there is none, it is of another dimension or unreadable."""
        meta_path = path.with_name(path.name + ".json")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT or meta.get("dim") != dim:
                return None
            if meta["graph"] and meta.get("dtype", "f32") != options.get("dtype", "f32"):
                return None  # stored at another precision: the caller rebuilds at the one asked for
            index = cls(dim, **options)
            if meta["graph"]:
                graph = _usearch().Index.restore(str(path))
                if graph is None or graph.ndim != dim:
                    return None
                index._graph = graph
            else:
                with np.load(path) as saved:
                    index._append(np.asarray(saved["ids"], dtype=np.int64), np.asarray(saved["vectors"]))
            index._high_water = int(meta["high_water"])
        except (OSError, ValueError, KeyError, TypeError, RuntimeError):
            # A torn or foreign file is not an error: the caller rebuilds from the store.
            return None
        return index

    # internals (called with the lock held)

    def _threads(self, rows: int) -> int:
        # One thread for the small adds of the serving path; bulk builds as configured (0 = every core).
        return 1 if rows < 1000 else self.build_threads

    def _count_locked(self) -> int:
        return len(self._graph) if self._graph is not None else len(self._rows)

    def _remove_locked(self, keys: Ids) -> int:
        if keys.size == 0:
            return 0
        if self._graph is not None:
            present = [int(k) for k in keys if self._graph.contains(int(k))]
            if present:
                self._graph.remove(np.asarray(present, dtype=np.uint64))
            return len(present)
        removed = 0
        for key in keys.tolist():
            row = self._rows.pop(key, None)
            if row is None:
                continue
            removed += 1
            last = len(self._rows)  # the old last row moves into the hole: rows stay packed
            if row != last:
                moved = int(self._ids[last])
                self._matrix[row] = self._matrix[last]
                self._ids[row] = moved
                self._rows[moved] = row
        return removed

    def _append(self, keys: Ids, block: Vector) -> None:
        size = len(self._rows)
        needed = size + keys.size
        if needed > self._matrix.shape[0]:
            capacity = max(needed, 2 * self._matrix.shape[0], 64)
            matrix = np.zeros((capacity, self.dim), dtype=np.float32)
            matrix[:size] = self._matrix[:size]
            ids = np.zeros(capacity, dtype=np.int64)
            ids[:size] = self._ids[:size]
            self._matrix, self._ids = matrix, ids
        self._matrix[size:needed] = block
        self._ids[size:needed] = keys
        self._rows.update(zip(keys.tolist(), range(size, needed), strict=True))

    def _new_graph(self) -> Any:
        return _usearch().Index(
            ndim=self.dim,
            metric="cos",
            dtype=self.dtype,
            connectivity=CONNECTIVITY,
            expansion_add=self.expansion_add,
            expansion_search=self.expansion_search,
        )

    def _to_graph(self) -> None:
        size = len(self._rows)
        graph = self._new_graph()
        if size:
            graph.add(self._ids[:size].astype(np.uint64), self._matrix[:size], threads=self._threads(size))
        self._use_graph(graph)

    def _use_graph(self, graph: Any) -> None:
        self._graph = graph
        self._matrix = np.zeros((0, self.dim), dtype=np.float32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._rows = {}

    def _start_build(self) -> None:
        """Build the graph from a copy of the rows in a thread; what changes meanwhile is journaled and replayed."""
        size = len(self._rows)
        ids, matrix = self._ids[:size].copy(), self._matrix[:size].copy()
        self._journal = []
        self._building = threading.Thread(target=self._build, args=(ids, matrix), name="andon-vectors", daemon=True)
        self._building.start()

    def _build(self, ids: Ids, matrix: Vector) -> None:
        try:
            graph = self._new_graph()
            graph.add(ids.astype(np.uint64), matrix, threads=self._threads(ids.size))
        except Exception:  # searches stay exact: slower, never wrong
            _log.exception("building the vector graph failed; searches stay exact")
            with self._lock:
                self._building, self._journal = None, []
            return
        with self._lock:
            for keys, block in self._journal:
                present = [int(k) for k in keys if graph.contains(int(k))]
                if present:
                    graph.remove(np.asarray(present, dtype=np.uint64))
                if block is not None:
                    graph.add(keys.astype(np.uint64), block, threads=1)
            self._use_graph(graph)
            self._building, self._journal = None, []

    def _exact(self, vector: Vector, k: int) -> tuple[Ids, NDArray[np.float32]]:
        size = len(self._rows)
        if size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        with _one_blas_thread():
            sims = self._matrix[:size] @ vector
        k = min(k, size)
        top = np.argpartition(-sims, k - 1)[:k] if k < size else np.arange(size)
        # Stable: by cosine, then by id, so equal scores rank the same on every run.
        order = np.lexsort((self._ids[top], -sims[top]))
        best = top[order]
        return self._ids[best].copy(), sims[best].astype(np.float32)


def exact_search(matrix: Vector, ids: Sequence[int] | Ids, query: Vector, k: int) -> tuple[Ids, NDArray[np.float32]]:
    """The reference the index is measured against: the ``k`` best rows of ``matrix`` by inner product."""
    keys = np.asarray(ids, dtype=np.int64)
    sims = matrix @ query
    order = np.lexsort((keys, -sims))[:k]
    return keys[order], sims[order].astype(np.float32)


def index_path(database_url: str, name: str) -> Path | None:
    """Where the index ``name`` of this store is saved: beside a SQLite file (``<db>.vectors/``), else in the
    user's cache (``ANDON_CACHE_DIR``, ``$XDG_CACHE_HOME/andon`` or ``~/.cache/andon``) under a digest of the
    URL without its password; None for an in-memory SQLite store (nothing outlives it)."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            return None
        db = Path(database)
        return db.with_name(db.name + ".vectors") / safe
    if explicit := os.environ.get("ANDON_CACHE_DIR"):
        root = Path(explicit).expanduser()
    elif xdg := os.environ.get("XDG_CACHE_HOME"):
        root = Path(xdg).expanduser() / "andon"
    else:
        root = Path.home() / ".cache" / "andon"
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return root / "vectors" / digest / safe


def _last_of_each(keys: Ids, block: Vector) -> tuple[Ids, Vector]:
    # An id given twice in one call keeps its last vector, as two calls would.
    if np.unique(keys).size == keys.size:
        return keys, block
    _, first_in_reversed = np.unique(keys[::-1], return_index=True)
    keep = np.sort(keys.size - 1 - first_in_reversed)
    return keys[keep], block[keep]


def _usearch() -> Any:
    return importlib.import_module("usearch.index")


def _write_json(path: Path, value: dict[str, Any]) -> None:
    temp = path.with_name(path.name + f".{os.getpid()}.tmp")
    temp.write_text(json.dumps(value), encoding="utf-8")
    os.replace(temp, path)


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
