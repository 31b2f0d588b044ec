"""The semantic cache's vector search at scale: exact numpy scan, andon's HNSW index and a FAISS flat index.

Rows are the real KorSTS sentences (both sides of every train and dev pair, embedded by the cache's model)
among ``--entries`` random unit vectors that stand for other requests; each pair's second sentence is the
query. Recall: of the rows the exact scan returns above the cache's threshold (top 8), the share the index
returns. Latency: the search alone, one query at a time on one thread; the embedding of a query is timed
separately because it is the same for every index.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from andon.embeddings import default_embedder
from andon.gateway.semcache.cache import DEFAULT_THRESHOLD
from andon.gateway.semcache.index import Index
from bench.semantic_cache import load_split

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "korsts"
OUT = Path(__file__).resolve().parent / "out" / "semcache_index.json"
NOW, TTL, K = 1_000.0, 86_400.0, 8


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {q: round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3) for q, p in (("p50", 0.5), ("p99", 0.99))}


def corpus(folder: Path, entries: int, seed: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], list[float]]:
    """(rows, queries, embedding ms per query): real sentences first, then random unit vectors up to ``entries``."""
    pairs = load_split(folder, "train") + load_split(folder, "dev")
    embedder = default_embedder()
    memo = OUT.parent / "korsts_embeddings.npz"  # embedding 14,500 sentences takes minutes: kept between runs
    if memo.exists():
        saved = np.load(memo)
        stored, queries = saved["stored"], saved["queries"]
    else:
        stored = embedder.embed([a for _, a, _ in pairs])
        queries = embedder.embed([b for _, _, b in pairs])
        memo.parent.mkdir(parents=True, exist_ok=True)
        np.savez(memo, stored=stored, queries=queries)
    embed_ms = []
    for _, _, text in pairs[:200]:
        started = time.perf_counter()
        embedder.embed([text + "?"])
        embed_ms.append((time.perf_counter() - started) * 1000)
    rng = np.random.default_rng(seed)
    rest = max(0, entries - len(stored))
    noise = rng.standard_normal((rest, stored.shape[1]), dtype=np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    rows = np.concatenate([stored.astype(np.float32), noise])
    order = rng.permutation(len(rows))  # real rows spread through the ids, as they would arrive
    return rows[order], queries.astype(np.float32), embed_ms


def build(rows: np.ndarray[Any, Any], ann_min_rows: int) -> tuple[Index, float]:
    index = Index(rows.shape[1], ann_min_rows=ann_min_rows)
    started = time.perf_counter()
    for start in range(0, len(rows), 50_000):
        batch = rows[start : start + 50_000]
        index.add([(start + i + 1, v, NOW, NOW + TTL, "", "s") for i, v in enumerate(batch)], NOW)
    return index, time.perf_counter() - started


def timed(search: Any, queries: np.ndarray[Any, Any]) -> tuple[list[list[int]], list[float]]:
    found, times = [], []
    for query in queries:
        started = time.perf_counter()
        found.append(search(query))
        times.append((time.perf_counter() - started) * 1000)
    return found, times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA, help="KorSTS folder (read in place)")
    parser.add_argument("--entries", type=int, default=1_000_000, help="rows in the index")
    parser.add_argument("--queries", type=int, default=1_000, help="queries timed and scored")
    parser.add_argument("--skip-faiss", action="store_true", help="leave out the FAISS flat index (the peer)")
    args = parser.parse_args(argv)
    rows, queries, embed_ms = corpus(args.data, args.entries, seed=7)
    queries = queries[: args.queries]
    threshold = DEFAULT_THRESHOLD
    print(f"{len(rows):,} rows ready; building the indexes", flush=True)
    exact, exact_build = build(rows, ann_min_rows=10**12)
    hnsw, hnsw_build = build(rows, ann_min_rows=1)
    result: dict[str, Any] = {"entries": len(rows), "queries": len(queries), "threshold": threshold}
    truth, exact_ms = timed(lambda q: [c.id for c in exact.search(q, threshold, NOW + 1, TTL, "s", K)], queries)
    got, hnsw_ms = timed(lambda q: [c.id for c in hnsw.search(q, threshold, NOW + 1, TTL, "s", K)], queries)
    wanted = sum(len(t) for t in truth)
    recalled = sum(len(set(t) & set(g)) for t, g in zip(truth, got, strict=True))
    result["exact_numpy"] = {"build_s": round(exact_build, 1), "search_ms": _percentiles(exact_ms)}
    result["andon_hnsw"] = {
        "build_s": round(hnsw_build, 1),
        "search_ms": _percentiles(hnsw_ms),
        "recall_vs_exact": round(recalled / wanted, 4) if wanted else None,
        "above_threshold_rows": wanted,
        "extra_rows_returned": sum(len(set(g) - set(t)) for t, g in zip(truth, got, strict=True)),
    }
    if not args.skip_faiss:
        import faiss  # type: ignore[import-not-found]  # the peer, a dev dependency only

        faiss.omp_set_num_threads(1)
        started = time.perf_counter()
        flat = faiss.IndexFlatIP(rows.shape[1])
        flat.add(rows)
        flat_build = time.perf_counter() - started

        def flat_search(query: np.ndarray[Any, Any]) -> list[int]:
            sims, found = flat.search(query[None, :], K)
            return [int(i) + 1 for i, s in zip(found[0], sims[0], strict=True) if s >= threshold]

        _, flat_ms = timed(flat_search, queries)
        result["faiss_flat"] = {"build_s": round(flat_build, 1), "search_ms": _percentiles(flat_ms)}
    result["embed_one_query_ms"] = _percentiles(embed_ms)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    base = result["exact_numpy"]["search_ms"]["p99"]
    for name in ("andon_hnsw", "faiss_flat"):
        if name in result:
            print(f"{name}: p99 {result[name]['search_ms']['p99']} ms, {base / result[name]['search_ms']['p99']:.1f}x faster than the exact scan")


if __name__ == "__main__":
    main()
