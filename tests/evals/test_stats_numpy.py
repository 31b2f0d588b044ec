"""The numpy-drawn resamples and sign patterns are exactly the ones ``random.Random`` draws, so the intervals
and p-values of a run stay the same numbers, only faster."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.evals import stats
from andon.evals.stats import QuantileOf, bootstrap_index_blocks, paired_bootstrap_diff, quantile, sign_patterns


@given(st.integers(1, 3000), st.integers(1, 40), st.integers(0, 2**40))
@settings(max_examples=40)
def test_index_blocks_are_random_choices(n: int, resamples: int, seed: int) -> None:
    rng = random.Random(seed)
    expected = [rng.choices(range(n), k=n) for _ in range(resamples)]
    got = [row for block in bootstrap_index_blocks(n, resamples, seed) for row in block.tolist()]
    assert got == expected


def test_index_blocks_split_a_large_draw_without_changing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats, "INDEX_BLOCK", 7)  # one resample per block: the stream must carry on
    got = [row for block in bootstrap_index_blocks(5, 9, 3) for row in block.tolist()]
    rng = random.Random(3)
    assert got == [rng.choices(range(5), k=5) for _ in range(9)]


@given(st.integers(1, 300), st.integers(1, 20), st.integers(0, 2**32))
@settings(max_examples=40)
def test_sign_patterns_are_getrandbits(m: int, n: int, seed: int) -> None:
    rng = random.Random(seed)
    expected = [rng.getrandbits(m).to_bytes((m + 7) // 8, "little") for _ in range(n)]
    assert [bytes(row) for block in sign_patterns(m, n, seed) for row in block] == expected


def _old_permutation_p(a: list[float], b: list[float], n: int, seed: int) -> float:
    """The per-pattern loop the numpy version replaced, kept here as the reference."""
    diffs = [y - x for x, y in zip(a, b, strict=True) if y != x]
    tables = stats._subset_sum_tables(diffs)
    total = math.fsum(diffs)
    threshold = abs(total) - 1e-9 * math.fsum(abs(x) for x in diffs)
    rng = random.Random(seed)
    hits = 0
    for _ in range(n):
        kept = sum(
            t[byte]
            for t, byte in zip(
                tables, rng.getrandbits(len(diffs)).to_bytes((len(diffs) + 7) // 8, "little"), strict=True
            )
        )
        hits += abs(2.0 * kept - total) >= threshold
    return min(1.0, (hits + 1) / (n + 1))  # fmt: skip


@given(st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5)), min_size=15, max_size=120), st.integers(0, 99))
@settings(max_examples=25)
def test_the_monte_carlo_permutation_p_is_unchanged(pairs: list[tuple[float, float]], seed: int) -> None:
    a, b = [x for x, _ in pairs], [y + 0.01 for _, y in pairs]
    if sum(x != y for x, y in zip(a, b, strict=True)) < 14:
        return  # the exact branch (every pattern), not the Monte Carlo one
    assert stats.paired_permutation_test(a, b, 300, seed) == _old_permutation_p(a, b, 300, seed)


@given(st.lists(st.tuples(st.floats(0, 1000), st.floats(0, 1000)), min_size=1, max_size=200), st.integers(0, 50))
@settings(max_examples=30)
def test_a_quantile_statistic_bootstraps_as_the_plain_function(pairs: list[tuple[float, float]], seed: int) -> None:
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    fast = paired_bootstrap_diff(a, b, n_resamples=60, seed=seed, statistic=QuantileOf(0.95))
    plain = paired_bootstrap_diff(a, b, n_resamples=60, seed=seed, statistic=lambda v: quantile(v, 0.95))
    assert fast == plain
