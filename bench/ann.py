"""Approximate nearest-neighbour libraries side by side: build, add, query p50/p99 and recall@10 against exact.

Vectors are ``--dim`` (the embedder's 512) unit float32. ``--data random`` fills the index with random unit
vectors only (the hardest case for a graph index: no structure, every neighbour nearly as far as the next).
``--data clustered`` draws points around 500 centres (as the tests do). ``--data korsts`` embeds the KorSTS
train sentences with the offline embedder, pads the index to ``--size`` with random unit vectors, and
queries with dev sentences (their true neighbours are then mostly real ones). Exact search is one float32
mat-vec over every row (what andon did before). Beside wall times it reports CPU times (the query's
thread, the build's process), which a machine shared with other work does not skew. Each library builds
with ``--threads`` threads and answers one query at a time on one thread (one request per call).

Run from the project root: ``.venv/bin/python -m bench.ann --size 100000`` (``--help`` for the rest).
Results go to the terminal and to ``bench/out/ann.json``.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

if __package__ in (None, ""):  # run as a file: make `andon` importable from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "ann.json"
DATA = ROOT.parent / "shared" / "data" / "korsts"
K = 10
ADDS = 1000  # vectors added one at a time after the build (the cache's store path)

Matrix = NDArray[np.float32]


def unit(rng: np.random.Generator, n: int, dim: int) -> Matrix:
    """``n`` random unit vectors."""
    out = rng.standard_normal((n, dim)).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def korsts_sentences(folder: Path, split: str) -> list[str]:
    """The distinct sentences of a KorSTS split, in file order."""
    seen: dict[str, None] = {}
    with (folder / f"sts-{split}.tsv").open(encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) >= 7 and row[4] != "score":
                seen.setdefault(row[5], None)
                seen.setdefault(row[6], None)
    return list(seen)


def dataset(kind: str, size: int, n_queries: int, dim: int, folder: Path) -> tuple[Matrix, Matrix, dict[str, Any]]:
    """(base vectors, query vectors, a note of what they are)."""
    rng = np.random.default_rng(7)
    if kind == "random":
        return unit(rng, size, dim), unit(rng, n_queries, dim), {"data": "random unit vectors"}
    if kind == "clustered":  # as tests/test_vectors.py: points around 500 centres, noise 0.6 per dimension
        centres = rng.standard_normal((500, dim))
        points = centres[rng.integers(0, 500, size + n_queries)] + 0.6 * rng.standard_normal((size + n_queries, dim))
        points = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)
        return points[:size], points[size:], {"data": "clustered synthetic unit vectors (500 centres)"}
    from andon.embeddings import default_embedder

    embedder = default_embedder()
    base_text = korsts_sentences(folder, "train")[:size]
    known = set(base_text)
    queries_text = [s for s in korsts_sentences(folder, "dev") if s not in known][:n_queries]
    real = embedder.embed(base_text).astype(np.float32)
    queries = embedder.embed(queries_text).astype(np.float32)
    pad = unit(rng, max(0, size - len(real)), real.shape[1])
    note = {"data": f"{len(real)} KorSTS train sentences embedded + {len(pad)} random unit vectors",
            "queries": f"{len(queries)} KorSTS dev sentences", "embedder": embedder.name}  # fmt: skip
    return np.vstack([real, pad]), queries, note


def exact_top(base: Matrix, queries: Matrix, k: int) -> NDArray[np.int64]:
    """The true top-``k`` row numbers of each query by cosine (the vectors are unit)."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 256):
        sims = queries[start : start + 256] @ base.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
        out[start : start + 256] = np.take_along_axis(part, order, axis=1)
    return out


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p99 in milliseconds."""
    ordered = sorted(samples)
    return {
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 3),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 3),
    }


class Candidate:
    """One library configured one way: build, add one, search one, save/load."""

    name: str

    def build(self, base: Matrix, threads: int) -> None:
        raise NotImplementedError

    def add_one(self, key: int, vector: Matrix) -> None:
        raise NotImplementedError

    def search(self, query: Matrix, k: int) -> NDArray[np.int64]:
        raise NotImplementedError

    def save_load(self, folder: Path) -> None:
        raise NotImplementedError


class Usearch(Candidate):
    """usearch HNSW, cosine, float32 storage (``dtype`` f16 halves memory; tried via ``--usearch-dtype``)."""

    def __init__(self, dim: int, m: int, ef_add: int, ef_search: int, dtype: str) -> None:
        self.module = importlib.import_module("usearch.index")
        self.args = {"ndim": dim, "metric": "cos", "dtype": dtype, "connectivity": m, "expansion_add": ef_add,
                     "expansion_search": ef_search}  # fmt: skip
        self.name = f"usearch M={m} efC={ef_add} ef={ef_search} {dtype}"
        self.index: Any = None

    def build(self, base: Matrix, threads: int) -> None:
        self.index = self.module.Index(**self.args)
        self.index.add(np.arange(len(base), dtype=np.uint64), base, threads=threads)

    def add_one(self, key: int, vector: Matrix) -> None:
        self.index.add(key, vector, threads=1)

    def search(self, query: Matrix, k: int) -> NDArray[np.int64]:
        return np.asarray(self.index.search(query, k, threads=1).keys, dtype=np.int64)

    def save_load(self, folder: Path) -> None:
        path = folder / "u.usearch"
        self.index.save(str(path))
        self.index = self.module.Index.restore(str(path))
        self.index.expansion_search = self.args["expansion_search"]  # not kept in the file: restored to default


class Faiss(Candidate):
    """faiss IndexHNSWFlat on inner product (unit vectors: inner product = cosine), ids via IndexIDMap."""

    def __init__(self, dim: int, m: int, ef_add: int, ef_search: int) -> None:
        self.faiss = importlib.import_module("faiss")
        self.dim, self.m, self.ef_add, self.ef_search = dim, m, ef_add, ef_search
        self.name = f"faiss HNSWFlat M={m} efC={ef_add} ef={ef_search}"
        self.index: Any = None

    def build(self, base: Matrix, threads: int) -> None:
        self.faiss.omp_set_num_threads(threads)
        hnsw = self.faiss.IndexHNSWFlat(self.dim, self.m, self.faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = self.ef_add
        hnsw.hnsw.efSearch = self.ef_search
        self.index = self.faiss.IndexIDMap(hnsw)
        self.index.add_with_ids(base, np.arange(len(base), dtype=np.int64))
        self.faiss.omp_set_num_threads(1)

    def add_one(self, key: int, vector: Matrix) -> None:
        self.index.add_with_ids(vector[None, :], np.array([key], dtype=np.int64))

    def search(self, query: Matrix, k: int) -> NDArray[np.int64]:
        return np.asarray(self.index.search(query[None, :], k)[1][0], dtype=np.int64)

    def save_load(self, folder: Path) -> None:
        path = str(folder / "f.faiss")
        self.faiss.write_index(self.index, path)
        self.index = self.faiss.read_index(path)
        self.faiss.downcast_index(self.index.index).hnsw.efSearch = self.ef_search


class Hnswlib(Candidate):
    """hnswlib, space ``ip`` on unit vectors."""

    def __init__(self, dim: int, m: int, ef_add: int, ef_search: int) -> None:
        self.hnswlib = importlib.import_module("hnswlib")
        self.dim, self.m, self.ef_add, self.ef_search = dim, m, ef_add, ef_search
        self.name = f"hnswlib M={m} efC={ef_add} ef={ef_search}"
        self.index: Any = None
        self.capacity = 0

    def build(self, base: Matrix, threads: int) -> None:
        self.capacity = len(base) + ADDS
        self.index = self.hnswlib.Index(space="ip", dim=self.dim)
        self.index.init_index(max_elements=self.capacity, ef_construction=self.ef_add, M=self.m)
        self.index.add_items(base, np.arange(len(base)), num_threads=threads)
        self.index.set_ef(self.ef_search)
        self.index.set_num_threads(1)

    def add_one(self, key: int, vector: Matrix) -> None:
        self.index.add_items(vector[None, :], [key])

    def search(self, query: Matrix, k: int) -> NDArray[np.int64]:
        return np.asarray(self.index.knn_query(query[None, :], k)[0][0], dtype=np.int64)

    def save_load(self, folder: Path) -> None:
        path = str(folder / "h.bin")
        self.index.save_index(path)
        self.index = self.hnswlib.Index(space="ip", dim=self.dim)
        self.index.load_index(path, max_elements=self.capacity)
        self.index.set_ef(self.ef_search)


def run(
    candidate: Candidate, base: Matrix, extra: Matrix, queries: Matrix, truth: NDArray[np.int64], threads: int
) -> dict[str, Any]:
    """Build on ``base``, add ``extra`` one at a time, query, round-trip through a file."""
    row: dict[str, Any] = {"name": candidate.name}
    t0, c0 = time.perf_counter(), time.process_time()
    candidate.build(base, threads)
    row["build_s"] = round(time.perf_counter() - t0, 2)
    row["build_cpu_s"] = round(time.process_time() - c0, 2)  # every thread's CPU: the figure load does not skew
    adds, adds_cpu = [], []
    for i, vector in enumerate(extra):
        t0, c0 = time.perf_counter(), time.thread_time()
        candidate.add_one(len(base) + i, vector)
        adds.append(time.perf_counter() - t0)
        adds_cpu.append(time.thread_time() - c0)
    row["add_one"], row["add_one_cpu"] = percentiles(adds), percentiles(adds_cpu)
    samples, cpu, found = [], [], []
    for query in queries:
        t0, c0 = time.perf_counter(), time.thread_time()
        found.append(candidate.search(query, K))
        samples.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    row["query"], row["query_cpu"] = percentiles(samples), percentiles(cpu)
    row[f"recall@{K}"] = round(recall(found, truth), 4)
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        candidate.save_load(Path(folder))
        row["save_load_s"] = round(time.perf_counter() - t0, 2)
    row["recall_after_load"] = round(recall([candidate.search(q, K) for q in queries], truth), 4)
    return row


def recall(found: list[NDArray[np.int64]], truth: NDArray[np.int64]) -> float:
    """Mean share of the true top-k that the index returned."""
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / K for f, t in zip(found, truth, strict=True)]))


def exact_row(base: Matrix, queries: Matrix) -> dict[str, Any]:
    """The mat-vec over every row, one BLAS thread (as the old index ran it)."""
    from threadpoolctl import threadpool_limits

    samples, cpu = [], []
    with threadpool_limits(limits=1, user_api="blas"):
        for query in queries:
            t0, c0 = time.perf_counter(), time.thread_time()
            sims = base @ query
            np.argpartition(-sims, K - 1)[:K]
            samples.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
    return {"name": "exact numpy mat-vec", "query": percentiles(samples), "query_cpu": percentiles(cpu),
            f"recall@{K}": 1.0}  # fmt: skip


def candidates(
    dim: int, libs: set[str], usearch_dtype: str, configs: list[tuple[int, int, int]]
) -> list[Callable[[], Candidate]]:
    """Each library in each (M, efConstruction, ef) configuration."""
    out: list[Callable[[], Candidate]] = []
    for m, ef_add, ef_search in configs:
        if "usearch" in libs:
            out.append(lambda m=m, a=ef_add, s=ef_search: Usearch(dim, m, a, s, usearch_dtype))
        if "faiss" in libs:
            out.append(lambda m=m, a=ef_add, s=ef_search: Faiss(dim, m, a, s))
        if "hnswlib" in libs:
            out.append(lambda m=m, a=ef_add, s=ef_search: Hnswlib(dim, m, a, s))
    return out


def main() -> None:
    """Run every candidate on one data set and write the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--data", choices=("random", "clustered", "korsts"), default="random")
    parser.add_argument("--korsts", type=Path, default=DATA, help="folder of sts-train.tsv and sts-dev.tsv")
    parser.add_argument("--threads", type=int, default=2, help="threads for the build (queries use one)")
    parser.add_argument("--libs", default="usearch,faiss,hnswlib", help="comma-separated; missing ones skipped")
    parser.add_argument("--usearch-dtype", default="f32")
    parser.add_argument("--configs", default="16/128/64,16/128/128,32/200/128", help="M/efConstruction/ef, …")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    configs = [(int(m), int(a), int(s)) for m, a, s in (c.split("/") for c in args.configs.split(","))]
    base, queries, note = dataset(args.data, args.size, args.queries, args.dim, args.korsts)
    extra = unit(np.random.default_rng(3), ADDS, base.shape[1])
    t0 = time.perf_counter()
    truth = exact_top(np.vstack([base, extra]), queries, K)  # the one-at-a-time adds count as well
    machine = platform.processor() or platform.machine()
    note |= {"size": len(base), "dim": base.shape[1], "threads_build": args.threads, "k": K,
             "truth_s": round(time.perf_counter() - t0, 1), "machine": machine}  # fmt: skip
    rows = [exact_row(base, queries)]
    print(json.dumps(rows[0]), flush=True)
    for make in candidates(base.shape[1], set(args.libs.split(",")), args.usearch_dtype, configs):
        try:
            candidate = make()
        except ImportError as error:
            print(f"skipped: {error}", flush=True)
            continue
        rows.append(run(candidate, base, extra, queries, truth, args.threads))
        print(json.dumps(rows[-1]), flush=True)
    result = {"setup": note, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
