"""Retrieval metrics against hand-computed values, plus properties that must hold for any ranking."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.knowledge.metrics import (
    hit_at_k,
    mean_metrics,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    reciprocal_rank,
)  # fmt: skip

RETRIEVED = ["d3", "d1", "d7", "d2", "d9"]
RELEVANT = {"d1", "d2", "d5"}


def test_hand_computed_values() -> None:
    # relevant at ranks 2 and 4 (d1, d2); d5 never retrieved
    assert recall_at_k(RETRIEVED, RELEVANT, 5) == pytest.approx(2 / 3)
    assert recall_at_k(RETRIEVED, RELEVANT, 2) == pytest.approx(1 / 3)
    assert precision_at_k(RETRIEVED, RELEVANT, 5) == pytest.approx(2 / 5)
    assert precision_at_k(RETRIEVED, RELEVANT, 1) == 0.0
    assert reciprocal_rank(RETRIEVED, RELEVANT) == pytest.approx(1 / 2)
    assert reciprocal_rank(RETRIEVED, RELEVANT, k=1) == 0.0
    assert hit_at_k(RETRIEVED, RELEVANT, 1) == 0.0 and hit_at_k(RETRIEVED, RELEVANT, 2) == 1.0
    # DCG@5 = 1/log2(3) + 1/log2(5) = 0.630930 + 0.430677 = 1.061606
    # IDCG@5 = 1 + 1/log2(3) + 1/log2(4) = 1 + 0.630930 + 0.5 = 2.130930 → nDCG = 0.498189
    assert ndcg_at_k(RETRIEVED, RELEVANT, 5) == pytest.approx(0.498189, abs=1e-6)
    # graded: d1 = 3, d2 = 1 → DCG = 3/log2(3) + 1/log2(5) = 1.892789 + 0.430677 = 2.323466;
    # IDCG = 3 + 1/log2(3) = 3.630930 → 0.639909
    assert ndcg_at_k(RETRIEVED, RELEVANT, 5, gains={"d1": 3, "d2": 1}) == pytest.approx(0.639909, abs=1e-6)


def test_mean_over_queries() -> None:
    means = mean_metrics([(RETRIEVED, RELEVANT), (["a", "b"], {"a"})], k=2)
    # query 1 @2: recall 1/3, precision 1/2, hit 1, rr 1/2; query 2: recall 1, precision 1/2, hit 1, rr 1
    assert means["recall"] == pytest.approx((1 / 3 + 1) / 2)
    assert means["precision"] == pytest.approx(0.5)
    assert means["hit_rate"] == 1.0
    assert means["mrr"] == pytest.approx(0.75)
    assert mean_metrics([], k=5)["recall"] == 0.0


IDS = st.sampled_from([f"d{i}" for i in range(8)])


@given(retrieved=st.lists(IDS, max_size=8, unique=True), relevant=st.sets(IDS, max_size=8), k=st.integers(1, 8))
def test_properties(retrieved: list[str], relevant: set[str], k: int) -> None:
    values = [f(retrieved, relevant, k) for f in (recall_at_k, precision_at_k, hit_at_k, reciprocal_rank, ndcg_at_k)]
    assert all(0.0 <= v <= 1.0 + 1e-12 for v in values)
    hits = len(set(retrieved[:k]) & relevant)
    assert math.isclose(precision_at_k(retrieved, relevant, k) * k, hits)
    if relevant:
        assert math.isclose(recall_at_k(retrieved, relevant, k) * len(relevant), hits)
    perfect = sorted(relevant)[:k]
    if relevant:
        assert ndcg_at_k(perfect, relevant, k) == pytest.approx(1.0)
    assert (hit_at_k(retrieved, relevant, k) == 0.0) == (ndcg_at_k(retrieved, relevant, k) == 0.0)
