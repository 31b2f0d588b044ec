"""The semantic cache's HNSW graph: the same above-threshold neighbours as the exact scan, scopes, expiry, forgetting."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from andon.gateway.semcache.index import Index

DIM = 64
NOW = 1_000.0
TTL = 3_600.0


def clustered(rng: np.random.Generator, count: int, centres: int = 40, noise: float = 0.35) -> NDArray[np.float32]:
    """Unit vectors around a few centres, like embeddings of requests that repeat with small changes."""
    middle = rng.standard_normal((centres, DIM))
    points = middle[rng.integers(0, centres, count)] + noise * rng.standard_normal((count, DIM)) / np.sqrt(DIM)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32)


def filled(vectors: NDArray[np.float32], *, ann_min_rows: int, scopes: tuple[str, ...] = ("s",)) -> Index:
    index = Index(DIM, ann_min_rows=ann_min_rows)
    rows = [
        (i + 1, vector, NOW, NOW + TTL, f"request {i}", scopes[i % len(scopes)]) for i, vector in enumerate(vectors)
    ]
    for start in range(0, len(rows), 1_000):  # in batches, as the store's refreshes add them
        index.add(rows[start : start + 1_000], NOW)
    return index


@pytest.fixture(scope="module")
def data() -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    rng = np.random.default_rng(20261202)
    vectors = clustered(rng, 8_000)
    queries = vectors[rng.integers(0, len(vectors), 300)] + 0.05 * rng.standard_normal((300, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return vectors, queries.astype(np.float32)


def ids_found(index: Index, query: NDArray[np.float32], threshold: float, scope: str = "s") -> list[int]:
    return [c.id for c in index.search(query, threshold, NOW + 1, TTL, scope, 8)]


def test_graph_is_built_only_past_its_size(data: tuple[NDArray[np.float32], NDArray[np.float32]]) -> None:
    vectors, _ = data
    small = filled(vectors[:500], ann_min_rows=1_000)
    assert small.graph is None
    large = filled(vectors[:2_500], ann_min_rows=1_000)
    assert large.graph is not None and len(large.graph) == 2_500


def test_graph_finds_what_the_exact_scan_finds(data: tuple[NDArray[np.float32], NDArray[np.float32]]) -> None:
    vectors, queries = data
    exact, approximate = filled(vectors, ann_min_rows=10**9), filled(vectors, ann_min_rows=1_000)
    assert exact.graph is None and approximate.graph is not None
    wanted = found = 0
    for query in queries:
        truth = exact.search(query, 0.8, NOW + 1, TTL, "s", 8)
        got = approximate.search(query, 0.8, NOW + 1, TTL, "s", 8)
        wanted += len(truth)
        found += len({c.id for c in truth} & {c.id for c in got})
        # The graph proposes, the float32 rows decide: every cosine is the exact one, best first.
        for candidate in got:
            assert candidate.similarity == pytest.approx(float(vectors[candidate.id - 1] @ query), abs=1e-5)
            assert candidate.similarity >= 0.8
        assert [c.similarity for c in got] == sorted((c.similarity for c in got), reverse=True)
    assert wanted > 1_000  # the queries do have above-threshold neighbours
    assert found / wanted >= 0.99


def test_other_scopes_and_expired_rows_are_skipped(data: tuple[NDArray[np.float32], NDArray[np.float32]]) -> None:
    vectors, queries = data
    exact = filled(vectors, ann_min_rows=10**9, scopes=("a", "b", "c", "d"))
    approximate = filled(vectors, ann_min_rows=1_000, scopes=("a", "b", "c", "d"))
    wanted = found = 0
    for query in queries[:100]:
        truth = set(ids_found(exact, query, 0.8, "c"))
        got = ids_found(approximate, query, 0.8, "c")
        assert all((i - 1) % 4 == 2 for i in got)
        wanted += len(truth)
        found += len(truth & set(got))
    assert wanted > 0 and found / wanted >= 0.99
    later = NOW + TTL + 1  # every row has expired by then
    assert all(not approximate.search(q, 0.5, later, TTL, "a", 8) for q in queries[:20])


def test_forgotten_rows_never_come_back(data: tuple[NDArray[np.float32], NDArray[np.float32]]) -> None:
    vectors, queries = data
    index = filled(vectors[:3_000], ann_min_rows=1_000)
    before = ids_found(index, queries[0], 0.5)
    assert before
    index.forget(set(before))
    after = ids_found(index, queries[0], 0.5)
    assert not set(before) & set(after)
    assert index.graph is not None and len(index.graph) == 3_000 - len(before)


def test_rows_added_after_the_build_are_found(data: tuple[NDArray[np.float32], NDArray[np.float32]]) -> None:
    vectors, _ = data
    index = filled(vectors[:2_000], ann_min_rows=1_000)
    probe = vectors[5_000]
    index.add([(10_001, probe, NOW, NOW + TTL, "new request", "s")], NOW)
    assert ids_found(index, probe, 0.99)[0] == 10_001
