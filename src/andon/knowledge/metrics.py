"""Retrieval metrics for one query (ranked ids vs the relevant ones) and their mean over queries.

Binary relevance unless ``gains`` are given for nDCG (graded: id → gain). Conventions: a query with no
relevant id scores 0 for recall (there is nothing to find); precision@k divides by k even when fewer
than k ids were retrieved, as missing results are wrong answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence


def hits_at(retrieved: Sequence[str], relevant: set[str], k: int) -> int:
    """How many of the first ``k`` retrieved ids are relevant (each id counted once)."""
    return len(set(retrieved[:k]) & relevant)


def recall_at_k(retrieved: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the relevant ids found in the first ``k``."""
    return hits_at(retrieved, relevant, k) / len(relevant) if relevant else 0.0


def precision_at_k(retrieved: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the first ``k`` slots holding a relevant id."""
    return hits_at(retrieved, relevant, k) / k


def hit_at_k(retrieved: Sequence[str], relevant: set[str], k: int) -> float:
    """1 when any relevant id is in the first ``k``, else 0 (its mean over queries is the hit rate)."""
    return 1.0 if hits_at(retrieved, relevant, k) else 0.0


def reciprocal_rank(retrieved: Sequence[str], relevant: set[str], k: int | None = None) -> float:
    """1 / rank of the first relevant id (within ``k`` when given), 0 when none (its mean is MRR)."""
    for rank, item in enumerate(retrieved[:k] if k else retrieved, start=1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(retrieved: Sequence[str], relevant: set[str], k: int, gains: Mapping[str, float] | None = None) -> float:
    """DCG of the first ``k`` (gain / log2(rank + 1), each id once) over the best possible DCG."""
    gain = dict(gains) if gains is not None else dict.fromkeys(relevant, 1.0)
    seen: set[str] = set()
    dcg = 0.0
    for rank, item in enumerate(retrieved[:k], start=1):
        if item not in seen:
            dcg += gain.get(item, 0.0) / math.log2(rank + 1)
            seen.add(item)
    ideal = sorted((g for g in gain.values() if g > 0), reverse=True)[:k]
    best = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal, start=1))
    return dcg / best if best else 0.0


Metric = Callable[[Sequence[str], set[str], int], float]
METRICS: dict[str, Metric] = {
    "recall": recall_at_k,
    "precision": precision_at_k,
    "hit_rate": hit_at_k,
    "mrr": reciprocal_rank,
    "ndcg": ndcg_at_k,
}


def mean_metrics(runs: Sequence[tuple[Sequence[str], set[str]]], k: int) -> dict[str, float]:
    """Each metric at ``k`` averaged over queries ``(retrieved, relevant)``; empty input gives zeros."""
    if not runs:
        return dict.fromkeys(METRICS, 0.0)
    return {name: sum(fn(r, rel, k) for r, rel in runs) / len(runs) for name, fn in METRICS.items()}
