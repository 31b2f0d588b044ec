"""Calibration: reliability bins and ECE by hand, the risk–coverage curve, Clopper–Pearson, the routing threshold."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.errors import ConfigError
from andon.evals.calibration import (
    Point,
    expected_calibration_error,
    parse_target,
    reliability_bins,
    risk_coverage,
    suggest_threshold,
)
from andon.evals.exact import clopper_pearson, incomplete_beta


def _points(*pairs: tuple[float, int]) -> list[Point]:
    return [Point(c, bool(ok)) for c, ok in pairs]


def test_reliability_bins_and_ece_by_hand() -> None:
    # Bin [0.2, 0.3): 0.25, 0.25 → 1 of 2 right; bin [0.9, 1.0]: 0.9, 0.95, 1.0, 1.0 → 3 of 4 right.
    points = _points((0.25, 1), (0.25, 0), (0.9, 1), (0.95, 1), (1.0, 1), (1.0, 0))
    bins = reliability_bins(points, bins=10)
    assert [b.n for b in bins] == [0, 0, 2, 0, 0, 0, 0, 0, 0, 4]
    low, top = bins[2], bins[9]
    assert low.mean_confidence == pytest.approx(0.25) and low.accuracy == 0.5
    assert top.mean_confidence == pytest.approx(0.9625) and top.accuracy == 0.75
    assert top.accuracy_low is not None and top.accuracy_low < 0.75 < (top.accuracy_high or 0)
    # ECE = 2/6·|0.5 − 0.25| + 4/6·|0.75 − 0.9625| = 0.083333 + 0.141667 = 0.225
    assert expected_calibration_error(bins) == pytest.approx(0.225)


def test_a_perfectly_calibrated_confidence_has_ece_zero() -> None:
    points = _points((0.5, 1), (0.5, 0), (1.0, 1), (1.0, 1))
    assert expected_calibration_error(reliability_bins(points, bins=2)) == pytest.approx(0.0)
    assert expected_calibration_error(reliability_bins([], bins=5)) is None


def test_risk_coverage_curve_by_hand_with_ties_kept_together() -> None:
    points = _points((0.9, 1), (0.8, 1), (0.8, 0), (0.6, 1), (0.3, 0))
    curve = risk_coverage(points)
    assert [(c.threshold, c.automated, c.correct) for c in curve] == [
        (0.9, 1, 1), (0.8, 3, 2), (0.6, 4, 3), (0.3, 5, 3),
    ]  # fmt: skip
    assert [c.coverage for c in curve] == [0.2, 0.6, 0.8, 1.0]
    assert [c.precision for c in curve] == pytest.approx([1.0, 2 / 3, 0.75, 0.6])


@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=60))
def test_curve_and_ece_properties(pairs: list[tuple[float, bool]]) -> None:
    points = [Point(c, ok) for c, ok in pairs]
    curve = risk_coverage(points)
    assert [c.automated for c in curve] == sorted({c.automated for c in curve})
    assert curve[-1].coverage == 1.0 and curve[-1].correct == sum(ok for _, ok in pairs)
    assert [c.threshold for c in curve] == sorted((c.threshold for c in curve), reverse=True)
    ece = expected_calibration_error(reliability_bins(points))
    assert ece is not None and 0.0 <= ece <= 1.0


def test_clopper_pearson_against_published_values() -> None:
    """Exact 95% limits as tabulated (e.g. Geigy Scientific Tables; R's binom.test gives the same)."""
    assert clopper_pearson(5, 10) == pytest.approx((0.187086, 0.812914), abs=1e-6)
    assert clopper_pearson(0, 10) == pytest.approx((0.0, 0.308497), abs=1e-6)
    assert clopper_pearson(10, 10) == pytest.approx((0.691503, 1.0), abs=1e-6)
    assert clopper_pearson(95, 100) == pytest.approx((0.887165, 0.983568), abs=1e-6)
    assert incomplete_beta(0.3, 2, 3) == pytest.approx(0.3483)  # 1 − P(Bin(4, 0.3) <= 1) = 0.3483
    assert clopper_pearson(0, 0) == (0.0, 1.0)


@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_clopper_pearson_contains_the_estimate(counts: tuple[int, int]) -> None:
    k, n = counts
    low, high = clopper_pearson(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0


def _synthetic(n: int, seed: int) -> list[Point]:
    """Confidence uniform on [0, 1]; right with probability 0.6 + 0.45·c (certain above c ≈ 0.89)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        c = rng.random()
        out.append(Point(c, rng.random() < min(1.0, 0.6 + 0.45 * c)))
    return out


def test_the_suggested_threshold_reaches_its_target_on_held_back_data() -> None:
    target = parse_target("precision >= 0.99")
    learned = suggest_threshold(_synthetic(3000, seed=11), target)
    assert learned.threshold is not None and learned.precision_low is not None
    assert learned.precision_low >= 0.99 and learned.coverage is not None and learned.coverage > 0.05
    assert learned.coverage_low is not None and learned.coverage_low <= learned.coverage <= (learned.coverage_high or 0)
    held = [p for p in _synthetic(50_000, seed=12) if p.confidence >= learned.threshold]
    assert sum(p.correct for p in held) / len(held) >= 0.99
    assert len(held) / 50_000 == pytest.approx(learned.coverage, abs=0.03)


def test_a_target_out_of_reach_says_so_with_the_best_bound() -> None:
    few = _points((0.99, 1), (0.98, 1), (0.5, 0))  # two right answers cannot show 99% precision
    found = suggest_threshold(few, parse_target("precision >= 99%"))
    assert found.threshold is None and found.best_low is not None and found.best_low < 0.99 and found.n == 3


def test_targets_are_parsed_or_refused_with_the_form_they_take() -> None:
    assert parse_target("precision>=0.95").value == 0.95 and parse_target("precision > 90%").op == ">"
    for bad in ("recall >= 0.9", "precision >= 1.5", "precision >= 0", "precision = 0.9"):
        with pytest.raises(ConfigError) as refused:
            parse_target(bad)
        assert "precision >= 0.99" in (refused.value.hint or "")
