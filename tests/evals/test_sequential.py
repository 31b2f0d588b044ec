"""The mixture sequential probability ratio test: hand-computed values, properties, and simulations peeked at
after every unit (A/A: false positives at most alpha; A/B: power, and earlier than a fixed horizon)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from andon.evals.sequential import log_mixture_ratio, means, proportions, radius, running
from andon.evals.sequential_sim import fixed_horizon_n, simulate


def binomial_upper(rate: float, n: int, z: float = 3.0) -> float:
    """The upper end of a rate's binomial interval (normal approximation, z standard errors)."""
    return rate + z * math.sqrt(rate * (1 - rate) / n)


def test_the_mixture_ratio_matches_its_formula_by_hand() -> None:
    # v = 0.0001, τ² = 0.0004: Λ = sqrt(1/5) · exp(0.02² · 0.0004 / (2 · 0.0001 · 0.0005)) = sqrt(.2) · e^1.6
    assert float(log_mixture_ratio(0.02, 0.0001, 0.0004)) == pytest_approx(0.5 * math.log(0.2) + 1.6)
    # The radius is where the ratio reaches 1/α exactly.
    half = float(radius(0.0001, 0.0004, 0.05))
    assert float(log_mixture_ratio(half, 0.0001, 0.0004)) == pytest_approx(math.log(20))


def pytest_approx(value: float) -> object:
    import pytest

    return pytest.approx(value, rel=1e-9, abs=1e-12)


def test_proportions_find_a_clear_difference_and_not_a_null_one() -> None:
    clear = proportions(100, 1000, 170, 1000)
    assert clear.p_value < 0.001 and 0 < clear.low < 0.07 < clear.high
    same = proportions(100, 1000, 101, 1000)
    assert same.p_value > 0.5 and same.low < 0 < same.high


counts = st.integers(min_value=2, max_value=5000)


@given(counts, counts, st.floats(0, 1), st.floats(0, 1), st.floats(0.01, 0.5))
def test_proportion_results_are_consistent(n_a: int, n_b: int, r_a: float, r_b: float, alpha: float) -> None:
    s_a, s_b = round(r_a * n_a), round(r_b * n_b)
    result = proportions(s_a, n_a, s_b, n_b, alpha=alpha)
    assert 0 <= result.p_value <= 1
    assert result.low <= result.estimate <= result.high
    # The p-value and the confidence sequence are one test: p ≤ α exactly when 0 is outside the interval.
    if abs(result.p_value - alpha) > 1e-9 and min(abs(result.low), abs(result.high)) > 1e-12:
        assert (result.p_value <= alpha) == (not result.low < 0 < result.high)
    # Swapping the arms mirrors the estimate and keeps the evidence.
    swapped = proportions(s_b, n_b, s_a, n_a, alpha=alpha)
    assert swapped.estimate == -result.estimate or math.isclose(swapped.estimate, -result.estimate, abs_tol=1e-12)
    assert math.isclose(swapped.p_value, result.p_value, rel_tol=1e-9, abs_tol=1e-300)


values = st.lists(st.floats(-1000, 1000, allow_nan=False), min_size=2, max_size=60)


@given(values, values, st.floats(-50, 50))
def test_means_are_shift_invariant(a: list[float], b: list[float], shift: float) -> None:
    def moments(xs: list[float]) -> tuple[int, float, float]:
        return len(xs), sum(xs), sum(x * x for x in xs)

    plain = means(moments(a), moments(b))
    moved = means(moments([x + shift for x in a]), moments([x + shift for x in b]))
    assert 0 <= plain.p_value <= 1 and plain.low <= plain.estimate <= plain.high
    assert math.isclose(plain.estimate, moved.estimate, abs_tol=1e-6)
    if plain.p_value > 1e-6:
        assert math.isclose(plain.p_value, moved.p_value, rel_tol=1e-3, abs_tol=1e-6)


@given(st.lists(st.tuples(counts, counts, st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=8))
def test_the_running_summary_never_loosens(looks: list[tuple[int, int, float, float]]) -> None:
    summary = None
    for n_a, n_b, r_a, r_b in looks:
        fresh = proportions(round(r_a * n_a), n_a, round(r_b * n_b), n_b)
        before = summary
        summary = running(summary, fresh)
        assert summary.p_value <= fresh.p_value
        if before is not None:
            assert summary.p_value <= before.p_value


def test_a_a_false_positives_stay_at_alpha_when_peeked_after_every_unit() -> None:
    """10,000 A/A experiments of 1,500 units, looked at after every unit from 100 per arm on."""
    alpha, runs = 0.05, 10_000
    proportion = simulate(runs, 1500, control=0.1, treatment=0.1, alpha=alpha, seed=1)
    rate = float((proportion.msprt_at >= 0).mean())
    assert rate <= binomial_upper(alpha, runs)
    # The classic failure, on the same data: a fixed-horizon z-test peeked at as often finds many "winners".
    assert float((proportion.peeking_at >= 0).mean()) > 3 * alpha
    assert abs(float(proportion.fixed_reject.mean()) - alpha) <= 3 * math.sqrt(alpha * (1 - alpha) / runs)


def test_a_a_false_positives_of_means_stay_at_alpha() -> None:
    alpha, runs = 0.05, 2_000
    result = simulate(runs, 1500, kind="mean", control=0.0, treatment=0.0, sd=3.0, alpha=alpha, seed=2)
    assert float((result.msprt_at >= 0).mean()) <= binomial_upper(alpha, runs)


def test_a_b_power_and_time_to_decision() -> None:
    """10 % vs 13 %: the fixed-horizon test needs `n` units for 80 % power; mSPRT, given up to 2n, finds the
    better arm in most runs, never the worse one, and its median decision comes before 2n."""
    n = fixed_horizon_n(0.10, 0.13)
    result = simulate(400, 2 * n, control=0.10, treatment=0.13, seed=3)
    decided = result.msprt_at >= 0
    assert float(decided.mean()) >= 0.8
    assert int((result.msprt_sign[decided] < 0).sum()) == 0
    assert float(np.median(np.where(decided, result.msprt_at + 1, 2 * n))) < 2 * n
