"""Repeat stability in andon.evals.stability: hand-computed estimators and hypothesis properties."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.evals.stability import (
    agreement,
    all_pass_rate,
    case_agreement,
    flip_rate,
    flipped_cases,
    pass_at_k,
    pass_hat_k,
    stability_report,
)
from andon.evals.stats import StatisticsError


def test_pass_at_k_and_pass_hat_k_by_hand() -> None:
    # n = 5 repeats, c = 2 passes, k = 2:
    # pass@2 = 1 - C(3,2)/C(5,2) = 1 - 3/10 = .7; pass^2 = C(2,2)/C(5,2) = 1/10.
    runs = {"c1": [True, False, True, False, False]}
    assert pass_at_k(runs, 2) == pytest.approx(0.7)
    assert pass_hat_k(runs, 2) == pytest.approx(0.1)
    # Averaged over cases: second case always passes (1 and 1).
    runs["c2"] = [True] * 5
    assert pass_at_k(runs, 2) == pytest.approx((0.7 + 1) / 2)
    assert pass_hat_k(runs, 2) == pytest.approx((0.1 + 1) / 2)


def test_k_equal_to_n_is_any_and_all() -> None:
    runs = {"a": [True, False, False], "b": [False, False, False], "c": [True, True, True]}
    assert pass_at_k(runs, 3) == pytest.approx(2 / 3)  # a and c passed at least once
    assert pass_hat_k(runs, 3) == pytest.approx(1 / 3) == all_pass_rate(runs)  # only c always passed


def test_k_out_of_range_is_a_user_error() -> None:
    runs = {"a": [True, False], "b": [True]}
    with pytest.raises(StatisticsError) as info:
        pass_at_k(runs, 2)
    assert "'b'" in str(info.value) and info.value.hint
    with pytest.raises(StatisticsError):
        pass_hat_k(runs, 0)
    with pytest.raises(StatisticsError):
        pass_at_k({}, 1)
    with pytest.raises(StatisticsError):
        all_pass_rate({"a": []})


def test_flip_rate_counts_only_repeated_cases() -> None:
    runs = {"steady": [True, True], "flaky": [True, False, True], "broken": [False, False], "once": [True]}
    assert flipped_cases(runs) == ["flaky"]
    assert flip_rate(runs) == pytest.approx(1 / 3)  # "once" cannot flip and is left out
    assert flip_rate({"once": [False]}) == 0.0


def test_agreement_by_hand_and_unhashable_outputs() -> None:
    assert agreement(["a", "a", "b"]) == pytest.approx(2 / 3)
    assert agreement([{"x": [1]}, {"x": [1]}, {"x": [2]}, {"x": [1]}]) == 0.75
    assert case_agreement({"c": ["a", "b"], "d": ["a"]}) == {"c": 0.5, "d": 1.0}
    with pytest.raises(StatisticsError):
        agreement([])


def test_stability_report() -> None:
    runs = {"a": [True, True, False], "b": [True, True, True], "c": [False, False, False, True]}
    report = stability_report(runs)
    assert (report.n_cases, report.min_repeats) == (3, 3)
    assert sorted(report.pass_at_k) == [1, 2, 3]
    # pass@1 is the mean per-case pass share: (2/3 + 1 + 1/4) / 3
    assert report.pass_at_k[1] == pytest.approx((2 / 3 + 1 + 1 / 4) / 3)
    assert report.flipped == ("a", "c")
    assert report.flip_rate == pytest.approx(2 / 3)
    assert report.all_pass_rate == pytest.approx(1 / 3)
    assert report.mean_agreement == pytest.approx((2 / 3 + 1 + 3 / 4) / 3)
    assert sorted(stability_report(runs, ks=[2, 1, 2]).pass_hat_k) == [1, 2]


repeats = st.integers(min_value=1, max_value=8).flatmap(
    lambda n: st.dictionaries(
        st.text(min_size=1, max_size=4), st.lists(st.booleans(), min_size=n, max_size=n + 4), min_size=1
    ).map(lambda d: (d, n))
)


@given(repeats)
def test_pass_at_k_monotone_and_pass_hat_k_below_it(runs_n: tuple[dict[str, list[bool]], int]) -> None:
    runs, n = runs_n
    at = [pass_at_k(runs, k) for k in range(1, n + 1)]
    hat = [pass_hat_k(runs, k) for k in range(1, n + 1)]
    assert all(x <= y for x, y in itertools.pairwise(at))  # more tries, more chance of a pass
    assert all(x >= y for x, y in itertools.pairwise(hat))  # more tries, less chance all pass
    assert all(h <= a for h, a in zip(hat, at, strict=True))
    assert all(0.0 <= v <= 1.0 for v in at + hat)
    # k = 1: both are the mean per-case pass share.
    share = sum(sum(r) / len(r) for r in runs.values()) / len(runs)
    assert at[0] == pytest.approx(share) and hat[0] == pytest.approx(share)


@given(repeats)
def test_flips_and_all_pass_partition_cases(runs_n: tuple[dict[str, list[bool]], int]) -> None:
    runs, _ = runs_n
    flipped = set(flipped_cases(runs))
    always = {c for c, r in runs.items() if all(r)}
    never = {c for c, r in runs.items() if not any(r)}
    assert flipped | always | never == set(runs)
    assert not (flipped & always) and not (flipped & never)
    assert all_pass_rate(runs) == len(always) / len(runs)
    for case, outcomes in runs.items():
        share = agreement(outcomes)
        assert 0.5 <= share <= 1.0
        assert (share == 1.0) == (case not in flipped)
