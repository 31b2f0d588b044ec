"""Intervals and tests in andon.evals.stats: hand-computed values and hypothesis properties."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.errors import AndonError
from andon.evals.stats import (
    StatisticsError,
    binomial_test,
    bootstrap_indices,
    bootstrap_mean_interval,
    cohen_kappa,
    kappa_interval,
    mcnemar_exact,
    mean,
    newcombe_paired_interval,
    paired_bootstrap_diff,
    paired_permutation_test,
    percentiles,
    quantile,
    wilson_interval,
)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=0, max_value=400)


# --- Wilson ------------------------------------------------------------------------------------------------


def test_wilson_known_value_8_of_10() -> None:
    # p = .8, z = 1.959964, z² = 3.841459, n = 10:
    # centre = (.8 + z²/20) / (1 + z²/10) = .992073 / 1.384146 = .716739
    # half   = z·sqrt(.8·.2/10 + z²/400) / 1.384146 = 1.959964·.160011 / 1.384146 = .226577
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.490162, abs=1e-6)
    assert high == pytest.approx(0.943318, abs=1e-6)


def test_wilson_extremes_and_empty() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 10)
    # Upper bound at 0/10 is z²/(n + z²) = 3.841459 / 13.841459.
    assert low == 0.0 and high == pytest.approx(3.841459 / 13.841459, abs=1e-6)
    assert wilson_interval(10, 10)[1] == 1.0


@given(st.integers(min_value=1, max_value=5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_estimate_and_stays_in_unit_interval(sn: tuple[int, int]) -> None:
    s, n = sn
    low, high = wilson_interval(s, n)
    assert 0.0 <= low <= s / n <= high <= 1.0
    assert high - low > 0


@given(
    st.integers(min_value=1, max_value=200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(min_value=2, max_value=20),
)
def test_wilson_narrows_as_n_grows_at_the_same_rate(sn: tuple[int, int], m: int) -> None:
    s, n = sn
    low1, high1 = wilson_interval(s, n)
    low2, high2 = wilson_interval(s * m, n * m)
    assert high2 - low2 < high1 - low1


@given(st.integers(min_value=1, max_value=300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_higher_confidence_is_wider(sn: tuple[int, int]) -> None:
    s, n = sn
    low90, high90 = wilson_interval(s, n, 0.90)
    low99, high99 = wilson_interval(s, n, 0.99)
    assert low99 <= low90 and high90 <= high99


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1])
def test_bad_confidence_is_a_user_error(confidence: float) -> None:
    with pytest.raises(StatisticsError) as info:
        wilson_interval(1, 2, confidence)
    assert isinstance(info.value, AndonError) and info.value.hint


def test_wilson_rejects_impossible_counts() -> None:
    with pytest.raises(StatisticsError):
        wilson_interval(11, 10)


# --- binomial and McNemar ----------------------------------------------------------------------------------


def test_mcnemar_known_value() -> None:
    # b + c = 10 discordant pairs, 1 of them A-only: P(X <= 1) = (C(10,0) + C(10,1)) / 2¹⁰ = 11/1024,
    # two-sided 22/1024 = 0.021484375.
    assert mcnemar_exact(1, 9) == pytest.approx(22 / 1024, rel=1e-12)
    # 0 of 5: 2 · 1/32.
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32, rel=1e-12)


def test_mcnemar_no_discordant_pairs_and_balanced() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(7, 7) == 1.0


def test_mcnemar_does_not_underflow_to_zero() -> None:
    assert mcnemar_exact(0, 5000) > 0.0


@given(counts, counts)
def test_mcnemar_symmetric_and_in_unit_interval(b: int, c: int) -> None:
    p = mcnemar_exact(b, c)
    assert p == mcnemar_exact(c, b)
    assert 0.0 < p <= 1.0


@given(st.integers(0, 60), st.integers(0, 60))
def test_mcnemar_matches_brute_force_minlike_sum(b: int, c: int) -> None:
    # Independent definition: total probability of every split no more likely than the observed one.
    n = b + c
    observed = math.comb(n, b)
    expected = min(1.0, sum(math.comb(n, i) for i in range(n + 1) if math.comb(n, i) <= observed) / 2**n)
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12)


@given(st.integers(0, 80), st.integers(0, 80))
def test_mcnemar_more_lopsided_is_more_significant(b: int, extra: int) -> None:
    c = b + extra
    assert mcnemar_exact(b, c + 1) <= mcnemar_exact(b, c)


def test_binomial_test_general_p_known_value() -> None:
    # X ~ Bin(20, .2), k = 7: P(X=7) = .054550. Outcomes no more likely: X >= 7 (sum .086693) and
    # X = 0 (.8²⁰ = .011529); X = 1 is .057646 > .054550. Total .098222.
    assert binomial_test(7, 20, 0.2) == pytest.approx(0.098222, abs=1e-6)
    assert binomial_test(0, 0, 0.3) == 1.0


# --- Newcombe paired difference ----------------------------------------------------------------------------


def test_newcombe_paired_known_value() -> None:
    # a=12 both pass, b=7 A only, c=1 B only, d=1 both fail; n=21. pA = 19/21, pB = 13/21, delta = -6/21.
    # Wilson 13/21 = (.408787, .792490), 19/21 = (.710859, .973481).
    # ad - bc = 5 <= n/2, so the correlation term is 0 and the method is plain square-and-add:
    # low  = -.285714 - sqrt((.619048-.408787)² + (.973481-.904762)²) = -.285714 - .221206 = -.506920
    # high = -.285714 + sqrt((.904762-.710859)² + (.792490-.619048)²) = -.285714 + .260155 = -.025559
    delta, low, high = newcombe_paired_interval(12, 7, 1, 1)
    assert delta == pytest.approx(-6 / 21)
    assert low == pytest.approx(-0.506920, abs=1e-5)
    assert high == pytest.approx(-0.025559, abs=1e-5)


def test_newcombe_correlation_narrows_the_interval() -> None:
    # Strongly concordant pairs (ad - bc = 100 > n/2) give psi = (100 - 10)/100 = .9: much narrower than
    # the independent-samples width with psi = 0.
    _, low, high = newcombe_paired_interval(10, 0, 0, 10)
    _, hw = wilson_interval(10, 20)
    independent = math.sqrt(2) * (hw - 0.5)
    assert high == pytest.approx(-low)
    assert high < independent / 2


def test_newcombe_empty() -> None:
    assert newcombe_paired_interval(0, 0, 0, 0) == (0.0, -1.0, 1.0)


@given(counts, counts, counts, counts)
def test_newcombe_contains_delta_and_is_antisymmetric(a: int, b: int, c: int, d: int) -> None:
    if a + b + c + d == 0:
        return
    delta, low, high = newcombe_paired_interval(a, b, c, d)
    assert -1.0 <= low <= delta <= high <= 1.0
    assert delta == pytest.approx((c - b) / (a + b + c + d))
    flipped = newcombe_paired_interval(a, c, b, d)
    assert flipped[1] == pytest.approx(-high, abs=1e-12)
    assert flipped[2] == pytest.approx(-low, abs=1e-12)


# --- quantiles ---------------------------------------------------------------------------------------------


def test_quantile_linear_interpolation_by_hand() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert quantile(values, 0.5) == 2.5  # h = 3·.5 = 1.5 → 2 + .5·(3-2)
    assert quantile(values, 0.25) == 1.75  # h = .75 → 1 + .75·(2-1)
    assert quantile(values, 0.0) == 1.0
    assert quantile(values, 1.0) == 4.0
    assert quantile([7.0], 0.9) == 7.0


def test_percentiles_by_hand() -> None:
    # 1..10: h = 9q. p50: h=4.5 → 5.5; p90: h=8.1 → 9.1; p95: h=8.55 → 9.55; p99: h=8.91 → 9.91.
    summary = percentiles([float(x) for x in range(10, 0, -1)])
    assert summary == pytest.approx({"p50": 5.5, "p90": 9.1, "p95": 9.55, "p99": 9.91, "mean": 5.5, "max": 10})


def test_quantile_rejects_bad_input() -> None:
    with pytest.raises(StatisticsError):
        quantile([], 0.5)
    with pytest.raises(StatisticsError):
        quantile([1.0], 1.5)
    with pytest.raises(StatisticsError):
        percentiles([1.0, math.nan])


@given(st.lists(finite, min_size=1, max_size=50), st.floats(0, 1), st.floats(0, 1))
def test_quantile_monotone_in_q_and_within_range(values: list[float], q1: float, q2: float) -> None:
    lo_q, hi_q = sorted((q1, q2))
    a, b = quantile(values, lo_q), quantile(values, hi_q)
    assert min(values) <= a <= b <= max(values)


@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=50), st.floats(0, 1))
def test_quantile_agrees_with_float_formula(values: list[float], q: float) -> None:
    # numpy's 'linear' definition written out in plain floats.
    xs = sorted(values)
    h = (len(xs) - 1) * q
    i = min(math.floor(h), len(xs) - 1)
    j = min(i + 1, len(xs) - 1)
    expected = xs[i] + (h - i) * (xs[j] - xs[i])
    assert quantile(values, q) == pytest.approx(expected, rel=1e-9, abs=1e-9)


# --- bootstrap ---------------------------------------------------------------------------------------------


def test_bootstrap_is_deterministic_by_seed() -> None:
    values = [0.1 * i for i in range(30)]
    assert bootstrap_mean_interval(values, seed=3) == bootstrap_mean_interval(values, seed=3)
    assert bootstrap_mean_interval(values, seed=3) != bootstrap_mean_interval(values, seed=4)
    assert list(bootstrap_indices(5, 3, seed=1)) == list(bootstrap_indices(5, 3, seed=1))


def test_bootstrap_constant_values_have_a_point_interval() -> None:
    assert bootstrap_mean_interval([0.5] * 12) == (0.5, 0.5, 0.5)


def test_bootstrap_interval_width_is_plausible() -> None:
    # 0/1 scores, half passing, n = 100: the standard error is .05, so a 95% interval is about ±.098.
    values = [float(i % 2) for i in range(100)]
    mean, low, high = bootstrap_mean_interval(values, n_resamples=4000, seed=1)
    assert mean == 0.5
    assert 0.16 < high - low < 0.24


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=40), st.integers(0, 10_000))
def test_bootstrap_interval_contains_the_mean(values: list[float], seed: int) -> None:
    mean, low, high = bootstrap_mean_interval(values, n_resamples=300, seed=seed)
    assert min(values) <= low <= mean <= high <= max(values)


def test_mean_of_equal_floats_stays_in_range() -> None:
    # Found in CI: fsum(x * n) / n rounded one ulp past x, so the interval left the data's range.
    x = 22.105248120142242
    for n in range(1, 41):
        values = [x] * n
        assert mean(values) == x
        assert bootstrap_mean_interval(values, n_resamples=50) == (x, x, x)


def test_bootstrap_rejects_empty() -> None:
    with pytest.raises(StatisticsError):
        bootstrap_mean_interval([])


# --- paired bootstrap --------------------------------------------------------------------------------------


def test_paired_bootstrap_identical_samples() -> None:
    a = [0.2, 0.9, 0.4, 0.7]
    assert paired_bootstrap_diff(a, a) == (0.0, 0.0, 0.0, 1.0)


def test_paired_bootstrap_consistent_improvement() -> None:
    a = [0.0] * 30
    b = [1.0] * 30
    diff, low, high, p = paired_bootstrap_diff(a, b, n_resamples=2000)
    assert (diff, low, high) == (1.0, 1.0, 1.0)
    assert p == pytest.approx(2 / 2001)  # no resample at or below 0: the +1-corrected floor


def test_paired_bootstrap_pairing_cancels_case_difficulty() -> None:
    # Scores vary a lot between cases, but B is always exactly .1 better: the paired interval is tight.
    a = [float(i) for i in range(0, 40, 2)]
    b = [x + 0.1 for x in a]
    diff, low, high, p = paired_bootstrap_diff(a, b)
    assert diff == pytest.approx(0.1)
    assert low == pytest.approx(0.1) and high == pytest.approx(0.1)
    assert p < 0.01


def test_paired_bootstrap_other_statistic() -> None:
    a = [100.0, 200.0, 300.0, 400.0]
    b = [x * 2 for x in a]
    diff, *_ = paired_bootstrap_diff(a, b, statistic=lambda v: quantile(v, 0.5))
    assert diff == 250.0  # medians 500 - 250


def test_paired_samples_must_match_in_length() -> None:
    with pytest.raises(StatisticsError) as info:
        paired_bootstrap_diff([1.0], [1.0, 2.0])
    assert "case" in (info.value.hint or "")
    with pytest.raises(StatisticsError):
        paired_permutation_test([1.0], [])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=30),
    st.integers(0, 1000),
)
def test_paired_bootstrap_interval_contains_diff(pairs: list[tuple[float, float]], seed: int) -> None:
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    diff, low, high, p = paired_bootstrap_diff(a, b, n_resamples=300, seed=seed)
    assert low <= diff + 1e-12 and diff - 1e-12 <= high
    assert 0.0 < p <= 1.0
    assert p >= min(1.0, 2.0 ** (1 - len(pairs)))  # n pairs: never surer than the exact sign-flip test can be


def test_a_paired_bootstrap_on_one_or_two_pairs_claims_nothing() -> None:
    # Every resample of one pair is that pair: the percentile p alone would say 0.001 for any difference.
    assert paired_bootstrap_diff([8858.0], [9582.0])[3] == 1.0
    assert paired_bootstrap_diff([1.0, 2.0], [5.0, 7.0])[3] == 0.5


# --- permutation -------------------------------------------------------------------------------------------


def test_permutation_known_exact_value() -> None:
    # Differences 1, 2, 3: of the 2³ = 8 sign patterns only +++ and --- reach |sum| = 6, so p = 2/8.
    assert paired_permutation_test([0.0, 0.0, 0.0], [1.0, 2.0, 3.0]) == 0.25


def test_permutation_zero_differences_are_dropped() -> None:
    # Same as above plus ten ties: still 3 informative pairs.
    a = [0.0, 0.0, 0.0] + [5.0] * 10
    b = [1.0, 2.0, 3.0] + [5.0] * 10
    assert paired_permutation_test(a, b) == 0.25


def _brute_force_sign_flip(a: list[float], b: list[float]) -> float:
    diffs = [y - x for x, y in zip(a, b, strict=True) if y != x]
    if not diffs:
        return 1.0
    observed = abs(sum(diffs))
    hits = 0
    for signs in itertools.product((1, -1), repeat=len(diffs)):
        if abs(sum(s * d for s, d in zip(signs, diffs, strict=True))) >= observed - 1e-9:
            hits += 1
    return hits / (1 << len(diffs))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=10))
def test_permutation_exact_matches_brute_force(pairs: list[tuple[int, int]]) -> None:
    a = [float(x) for x, _ in pairs]
    b = [float(y) for _, y in pairs]
    assert paired_permutation_test(a, b) == pytest.approx(_brute_force_sign_flip(a, b))


def test_permutation_monte_carlo_close_to_exact() -> None:
    # 15 non-zero differences: 2¹⁵ > 10,000, so the Monte Carlo path runs; compare with full enumeration.
    a = [0.0] * 15
    b = [0.3, -0.1, 0.5, 0.2, -0.4, 0.6, 0.1, 0.3, -0.2, 0.4, 0.2, 0.5, -0.3, 0.1, 0.2]
    exact = _brute_force_sign_flip(a, b)
    approx = paired_permutation_test(a, b, n_permutations=10_000, seed=7)
    assert abs(approx - exact) < 0.02


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=20), st.integers(0, 100))
def test_permutation_p_in_unit_interval_and_symmetric(pairs: list[tuple[float, float]], seed: int) -> None:
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    p = paired_permutation_test(a, b, n_permutations=500, seed=seed)
    assert 0.0 < p <= 1.0
    assert paired_permutation_test(b, a, n_permutations=500, seed=seed) == p


@given(st.lists(finite, min_size=1, max_size=30))
def test_permutation_identical_samples_give_one(values: list[float]) -> None:
    assert paired_permutation_test(values, list(values)) == 1.0


# --- kappa -------------------------------------------------------------------------------------------------


def test_kappa_textbook_example() -> None:
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # po = 35/50 = .7; A says yes .5, B says yes .6; pe = .5·.6 + .5·.4 = .5; kappa = (.7-.5)/(1-.5) = .4
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_kappa_degenerate_and_extreme_cases() -> None:
    assert cohen_kappa(["pass"] * 5, ["pass"] * 5) == 1.0  # one shared label: defined as 1
    assert cohen_kappa(["a", "b"] * 4, ["b", "a"] * 4) == -1.0  # po = 0, pe = .5
    # Raters who each always answer one (different) label: po = 0, pe = 0, kappa = 0.
    assert cohen_kappa(["x"] * 4, ["y"] * 4) == 0.0


def test_kappa_rejects_empty_and_mismatched() -> None:
    with pytest.raises(StatisticsError):
        cohen_kappa([], [])
    with pytest.raises(StatisticsError):
        cohen_kappa(["a"], ["a", "b"])


labels = st.sampled_from(["a", "b", "c"])


@given(st.lists(st.tuples(labels, labels), min_size=1, max_size=60))
def test_kappa_bounds_and_symmetry(pairs: list[tuple[str, str]]) -> None:
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    k = cohen_kappa(a, b)
    assert -1.0 <= k <= 1.0
    assert cohen_kappa(b, a) == k


@given(st.lists(labels, min_size=1, max_size=60))
def test_kappa_perfect_agreement_is_one(a: list[str]) -> None:
    assert cohen_kappa(a, list(a)) == 1.0


def test_kappa_interval_hand_computed() -> None:
    # 40 items, 34 agreements, both raters' marginals balanced enough that pe = 0.5: kappa 0.7,
    # se = sqrt(0.85 * 0.15 / (40 * 0.25)) = 0.11292, so the 95 % interval is 0.7 ± 1.95996 * 0.11292.
    a = [i % 2 == 0 for i in range(40)]
    b = [x if i % 20 not in (1, 8, 15) else not x for i, x in enumerate(a)]
    kappa, low, high = kappa_interval(b, a)
    assert kappa == pytest.approx(0.7)
    assert low == pytest.approx(0.7 - 1.959964 * math.sqrt(0.85 * 0.15 / 10), abs=1e-6)
    assert high == pytest.approx(0.7 + 1.959964 * math.sqrt(0.85 * 0.15 / 10), abs=1e-6)
    assert kappa_interval([True] * 5, [True] * 5) == (1.0, None, None)  # one label only: nothing measured


@given(pairs=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=80))
def test_kappa_interval_contains_kappa_within_bounds(pairs: list[tuple[bool, bool]]) -> None:
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    kappa, low, high = kappa_interval(a, b)
    if low is None or high is None:
        assert low is None and high is None
    else:
        assert -1.0 <= low <= kappa <= high <= 1.0
