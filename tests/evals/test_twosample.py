"""Mann-Whitney U and the two-proportion test: hand-computed values and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.evals.stats import StatisticsError
from andon.evals.twosample import iqr_inliers, mann_whitney_u, two_proportion_test


def test_mann_whitney_by_hand() -> None:
    # a below every b: U = 0; mu = 4.5, sigma = sqrt(9/12 * 7); z = (0 - 4.5 + 0.5) / sigma = -1.7457
    u, p = mann_whitney_u([1, 2, 3], [4, 5, 6], "less")
    assert u == 0 and p == pytest.approx(0.040434, abs=1e-5)
    u, p = mann_whitney_u([4, 5, 6], [1, 2, 3], "greater")
    assert u == 9 and p == pytest.approx(0.040434, abs=1e-5)


def test_mann_whitney_counts_ties_half() -> None:
    u, _ = mann_whitney_u([1, 2], [2, 3])  # pairs a > b: none; ties: (2, 2) counts half
    assert u == pytest.approx(0.5)


def test_identical_values_say_nothing() -> None:
    assert mann_whitney_u([5, 5, 5], [5, 5])[1] == 1.0


samples = st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=30)


@given(samples, samples)
def test_u_of_both_samples_adds_up_and_one_sided_tails_mirror(a: list[float], b: list[float]) -> None:
    u_ab, p_greater = mann_whitney_u(a, b, "greater")
    u_ba, p_less = mann_whitney_u(b, a, "less")
    assert u_ab + u_ba == pytest.approx(len(a) * len(b))
    assert p_greater == pytest.approx(p_less)
    assert 0.0 <= p_greater <= 1.0


def test_two_proportions_by_hand() -> None:
    # 30/100 against 10/100: Agresti-Caffo p~ = 31/102, 11/102; se = sqrt(.30392*.69608/102 + .10784*.89216/102)
    # = 0.054930, z = 0.2 / se = 3.6410, one-sided p = 1 - Phi(3.6410) = 0.0001358
    diff, p = two_proportion_test(30, 100, 10, 100, alternative="greater")
    assert diff == pytest.approx(0.2) and p == pytest.approx(0.0001358, rel=0.01)
    _, within = two_proportion_test(30, 100, 10, 100, margin=0.25, alternative="greater")
    assert within > 0.5  # worse by 20 points, allowed 25: not significant


def test_zero_hits_still_give_a_p_value() -> None:
    _, p = two_proportion_test(0, 50, 0, 50, alternative="greater")
    assert 0.4 < p <= 1.0


def test_bad_counts_are_refused() -> None:
    with pytest.raises(StatisticsError):
        two_proportion_test(3, 2, 1, 10)
    with pytest.raises(StatisticsError):
        mann_whitney_u([], [1.0])


def test_outliers_beyond_three_iqr_are_dropped() -> None:
    values = [10.0, 11, 12, 13, 14, 15, 1000]
    assert iqr_inliers(values) == [10.0, 11, 12, 13, 14, 15]
