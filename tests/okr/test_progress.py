"""Progress, roll-ups, health, periods and retention: the maths, as properties."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from andon.errors import ConfigError
from andon.okr.periods import elapsed_fraction, parse_period, period_of, steps
from andon.okr.progress import AT_RISK_GAP, ON_TRACK_GAP, health, objective_progress, progress, rollup
from andon.okr.retention import retention
from andon.store.okr import KeyResult

# Magnitudes a key result really takes (counts, percents, won); far from overflow, still many orders.
numbers = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


def _kr(start: float, target: float, direction: str = "increase", **extra: float) -> KeyResult:
    return KeyResult(objective="o", title="k", owner="a", start=start, target=target, direction=direction, **extra)


@given(numbers, numbers, numbers, numbers)
def test_progress_is_monotone_in_the_value_for_increase_and_antitone_for_decrease(
    start: float, target: float, a: float, b: float
) -> None:
    assume(start != target)
    lo, hi = min(a, b), max(a, b)
    kr = _kr(start, target, "increase" if target > start else "decrease")
    if target > start:
        assert progress(kr, lo) <= progress(kr, hi)
    else:
        assert progress(kr, lo) >= progress(kr, hi)


@given(numbers, numbers, numbers)
def test_progress_is_0_at_start_1_at_target_and_clamped(start: float, target: float, value: float) -> None:
    assume(start != target)
    kr = _kr(start, target, "increase" if target > start else "decrease")
    assert progress(kr, start) == 0.0
    assert progress(kr, target) == 1.0
    assert 0.0 <= progress(kr, value) <= 1.0
    beyond = target + (target - start)  # twice as far as asked
    assert progress(kr, beyond) == 1.0


def test_progress_is_linear_between_start_and_target() -> None:
    assert progress(_kr(40, 70), 55) == pytest.approx(0.5)  # float division; exact to rounding
    assert progress(_kr(2.0, 1.0, "decrease"), 1.25) == pytest.approx(0.75)
    assert progress(_kr(2.0, 1.0, "decrease"), 3.0) == 0.0


@given(numbers, numbers, numbers, numbers)
def test_range_is_1_inside_the_band_and_falls_outside_it(low: float, width: float, start: float, value: float) -> None:
    width = abs(width)
    high = low + width
    assume(high - low == width)  # no rounding at the band's edge
    kr = _kr(start, (low + high) / 2, "range", low=low, high=high)
    inside = min(max(value, low), high)
    assert progress(kr, inside) == 1.0
    assert 0.0 <= progress(kr, value) <= 1.0
    if start < low or start > high:
        assert progress(kr, start) == 0.0
    # Rising up to the band, falling after it.
    if value < low:
        assert progress(kr, value) <= progress(kr, (value + low) / 2) <= 1.0
    if value > high:
        assert progress(kr, value) <= progress(kr, (value + high) / 2)


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0.01, 100)), min_size=1, max_size=20))
def test_objective_progress_is_a_weighted_mean_within_its_parts(pairs: list[tuple[float, float]]) -> None:
    got = objective_progress(pairs)
    assert got is not None
    # Within the parts, up to the rounding of a sum of at most 20 terms.
    assert min(p for p, _ in pairs) - 1e-9 <= got <= max(p for p, _ in pairs) + 1e-9


def test_weights_count_and_missing_values_count_as_zero() -> None:
    assert objective_progress([(1.0, 3.0), (0.0, 1.0)]) == pytest.approx(0.75)
    assert objective_progress([(None, 1.0), (1.0, 1.0)]) == pytest.approx(0.5)
    assert objective_progress([]) is None
    assert rollup([0.2, None, 0.6]) == pytest.approx(0.4)
    assert rollup([None]) is None


@given(st.floats(0, 1), st.floats(0, 1))
def test_health_follows_the_documented_gaps(achieved: float, elapsed: float) -> None:
    got = health(achieved, elapsed)
    behind = elapsed - achieved
    if achieved >= 1 or behind <= ON_TRACK_GAP:
        assert got == "on_track"
    elif behind <= AT_RISK_GAP:
        assert got == "at_risk"
    else:
        assert got == "off_track"


@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))
def test_more_progress_never_makes_health_worse(a: float, b: float, elapsed: float) -> None:
    order = {"off_track": 0, "at_risk": 1, "on_track": 2}
    lo, hi = min(a, b), max(a, b)
    assert order[health(lo, elapsed)] <= order[health(hi, elapsed)]


def test_half_a_quarter_gone() -> None:
    assert (health(0.4, 0.5), health(0.3, 0.5), health(0.2, 0.5)) == ("on_track", "at_risk", "off_track")


def test_periods_parse_and_measure_elapsed_time() -> None:
    q4 = parse_period("2026q4")
    assert (q4.id, q4.starts, q4.ends) == ("2026Q4", date(2026, 10, 1), date(2026, 12, 31))
    year = parse_period("2026")
    assert (year.starts, year.ends) == (date(2026, 1, 1), date(2026, 12, 31))
    assert parse_period("2024Q1").ends == date(2024, 3, 31)
    assert elapsed_fraction(q4, datetime(2026, 9, 1, tzinfo=UTC)) == 0.0
    assert elapsed_fraction(q4, datetime(2027, 1, 1, tzinfo=UTC)) == 1.0
    assert elapsed_fraction(q4, datetime(2026, 11, 16, tzinfo=UTC)) == pytest.approx(46 / 92)
    assert [label for label, _, _ in steps(q4)] == ["Oct", "Nov", "Dec"]
    assert [label for label, _, _ in steps(year)] == ["Q1", "Q2", "Q3", "Q4"]
    assert steps(year)[-1][1] == datetime(2026, 10, 1, tzinfo=UTC)
    assert period_of(date(2026, 5, 2)).id == "2026Q2"
    for bad in ("2026Q5", "Q4", "26Q1", ""):
        with pytest.raises(ConfigError):
            parse_period(bad)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_every_day_lies_in_exactly_one_step_of_its_quarter(day: date) -> None:
    quarter = period_of(day)
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    assert sum(start <= at < end for _, start, end in steps(quarter)) == 1
    assert 0.0 < elapsed_fraction(quarter, at) < 1.0


def test_retention_shows_its_inputs() -> None:
    got = retention(customers_end=1200, new_customers=300, customers_start=1000)
    assert got.value == pytest.approx(90.0)
    assert got.inputs == {"customers_end": 1200, "new_customers": 300, "customers_start": 1000}
    assert got.explain() == "(1200 − 300) / 1000 × 100 = 90.0"
    with pytest.raises(ConfigError, match="customers_start"):
        retention(10, 1, 0)
    with pytest.raises(ConfigError):
        retention(10, 11, 5)
