"""Each detector on synthetic streams: steps, spikes, drifts, plain seasonality, missing data, warm-up."""

from __future__ import annotations

import math
from typing import Any

import pytest
from tests.watch.streams import DAY_POINTS, flat_noise, seasonal, stamps

from andon.errors import ConfigError
from andon.watch import Detector, Proportion, Verdict, build_detector, known_types
from andon.watch.detectors.proportion import binomial_tail

NO_SEASON = {"season": None}
VALUE_TYPES = ["robust-z", "ewma", "cusum", "band", "adwin", "page-hinkley", "kswin"]
# Change detectors: they must see a persistent shift (a step or a drift) within a bounded delay.
SHIFT_TYPES = ["robust-z", "ewma", "cusum", "band", "adwin", "page-hinkley", "kswin"]
DRIFT_TYPES = ["ewma", "cusum", "adwin", "page-hinkley", "kswin"]


def run(detector: Detector, values: list[float], start: int = 0) -> list[Verdict]:
    return [detector.update(ts, x) for ts, x in zip(stamps(len(values), start), values, strict=True)]


def make(kind: str, **extra: Any) -> Detector:
    settings: dict[str, Any] = {"type": kind, "warmup": 100, "baseline": dict(NO_SEASON)}
    settings.update(extra)
    return build_detector(settings)


def first_fail(verdicts: list[Verdict]) -> int | None:
    return next((i for i, v in enumerate(verdicts) if v.state == "fail"), None)


def test_every_builtin_is_registered() -> None:
    assert set(VALUE_TYPES) | {"threshold", "proportion"} <= set(known_types())


@pytest.mark.parametrize("kind", VALUE_TYPES)
def test_noise_alone_never_fails(kind: str) -> None:
    verdicts = run(make(kind), flat_noise(1500))
    assert first_fail(verdicts) is None


@pytest.mark.parametrize("kind", VALUE_TYPES)
def test_daily_seasonality_alone_never_fails(kind: str) -> None:
    # the seasonal baseline needs two days before it trusts a time-of-day slot: warm up over them
    detector = build_detector({"type": kind, "warmup": 2 * DAY_POINTS})
    verdicts = run(detector, seasonal(5 * DAY_POINTS))
    assert first_fail(verdicts) is None


@pytest.mark.parametrize("kind", SHIFT_TYPES)
def test_step_up_fails_soon_after_it(kind: str) -> None:
    values = flat_noise(600)
    values[400:] = [x + 8.0 for x in values[400:]]
    at = first_fail(run(make(kind), values))
    assert at is not None and 400 <= at <= 460


@pytest.mark.parametrize("kind", DRIFT_TYPES)
def test_slow_drift_fails(kind: str) -> None:
    values = flat_noise(900)
    values[400:] = [x + 0.05 * i for i, x in enumerate(values[400:])]
    at = first_fail(run(make(kind), values))
    assert at is not None and at >= 400


def test_single_spike_fails_robust_z_but_not_the_band() -> None:
    values = flat_noise(400)
    values[300] += 30.0
    spiky = run(make("robust-z"), values)
    banded = run(make("band"), values)
    assert first_fail(spiky) == 300 and spiky[300].fired
    assert first_fail(banded) is None
    assert banded[300].state == "ok" and banded[300].score > 0.0


def test_band_fails_on_the_nth_breach_in_a_row() -> None:
    values = flat_noise(300)
    values[200:203] = [150.0, 150.0, 150.0]
    verdicts = run(make("band", breaches=3, warn_breaches=2), values)
    assert [v.state for v in verdicts[199:203]] == ["ok", "ok", "warn", "fail"]


@pytest.mark.parametrize("kind", [*VALUE_TYPES, "threshold"])
def test_missing_values_are_no_data_and_change_nothing(kind: str) -> None:
    extra = {"fail_above": 1e9} if kind == "threshold" else {}
    detector = make(kind, **extra) if kind != "threshold" else build_detector({"type": kind, **extra})
    run(detector, flat_noise(150))
    before = detector.state()
    for value in (None, math.nan, math.inf):
        verdict = detector.update(1e6, value)
        assert verdict.state == "no_data" and verdict.score == 0.0 and not verdict.fired
    assert detector.state() == before


@pytest.mark.parametrize("kind", VALUE_TYPES)
def test_nothing_fires_during_warm_up(kind: str) -> None:
    wild = [100.0 if i % 2 else 1e6 for i in range(100)]
    verdicts = run(make(kind, warmup=100), wild)
    assert all(v.state == "ok" and v.score == 0.0 and not v.fired for v in verdicts)


def test_threshold_states_and_scores() -> None:
    detector = build_detector({"type": "threshold", "warn_above": 0.2, "fail_above": 0.3})
    verdicts = [detector.update(i, x) for i, x in enumerate([0.1, 0.25, 0.3, 0.5, 0.1, 0.4])]
    assert [v.state for v in verdicts] == ["ok", "warn", "fail", "fail", "ok", "fail"]
    assert verdicts[2].score == pytest.approx(0.5)
    assert verdicts[0].score < verdicts[1].score < verdicts[2].score < verdicts[3].score
    assert [v.fired for v in verdicts] == [False, True, True, False, False, True]


def test_threshold_below() -> None:
    detector = build_detector({"type": "threshold", "warn_below": 10, "fail_below": 5})
    assert [detector.update(i, x).state for i, x in enumerate([20, 8, 5, 1])] == ["ok", "warn", "fail", "fail"]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"type": "threshold"}, "detector"),
        ({"type": "threshold", "fail_above": 1, "warn_above": 2}, "detector"),
        ({"type": "robust-z", "fail_z": -1}, "detector.fail_z"),
        ({"type": "robust-z", "fail_zz": 3}, "detector.fail_zz"),
        ({"type": "cusum", "baseline": {"season": 0}}, "detector.baseline.season"),
        ({"type": "no-such-detector"}, "detector.type"),
        ({"fail_above": 1}, "detector.type"),
    ],
)
def test_bad_settings_are_config_errors_naming_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_detector(settings)
    assert caught.value.where == field
    assert caught.value.hint


def test_a_proportion_detector_refuses_plain_numbers() -> None:
    with pytest.raises(ConfigError):
        build_detector({"type": "proportion"}).update(0, 0.3)
    with pytest.raises(ConfigError):
        build_detector({"type": "robust-z"}).update(0, Proportion(1, 2))
    with pytest.raises(ConfigError):
        Proportion(5, 4)


def _calm_proportion() -> Detector:
    detector = build_detector({"type": "proportion"})
    for i in range(24):
        assert detector.update(i, Proportion(48, 400)).state == "ok"  # 12 %
    return detector


def test_reject_rate_rising_on_many_calls_fails() -> None:
    verdict = _calm_proportion().update(24, Proportion(120, 400))  # 30 % of 400
    assert verdict.state == "fail" and verdict.fired and verdict.score > 0.5


@pytest.mark.parametrize("rejects", [2, 3, 4])
def test_the_same_share_on_few_calls_does_not_fail(rejects: int) -> None:
    verdict = _calm_proportion().update(24, Proportion(rejects, 8))  # 25–50 % of 8
    assert verdict.state == "ok"


def test_a_significant_but_tiny_change_does_not_fail() -> None:
    detector = build_detector({"type": "proportion", "min_change": 0.02})
    for i in range(24):
        detector.update(i, Proportion(12_000, 100_000))
    assert detector.update(24, Proportion(12_800, 100_000)).state == "ok"  # +0.8 points, p ≈ 1e-14


def test_a_window_without_calls_is_no_data() -> None:
    assert _calm_proportion().update(24, Proportion(0, 0)).state == "no_data"


@pytest.mark.parametrize(("k", "n", "p"), [(3, 8, 0.12), (3, 5, 0.3), (120, 400, 0.12), (7, 7, 0.5), (10, 40, 0.2)])
def test_binomial_tail_matches_the_exact_sum(k: int, n: int, p: float) -> None:
    exact = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
    assert binomial_tail(k, n, p) == pytest.approx(exact, rel=1e-9)


def test_binomial_tail_below_the_mean_is_no_evidence() -> None:
    assert binomial_tail(1, 8, 0.5) == 1.0
    assert binomial_tail(0, 8, 0.1) == 1.0


def test_a_long_fault_never_becomes_the_baseline() -> None:
    # 30 % rejects for ten times as long as the 12 % baseline lasted: every window still fails, because a
    # window judged warn or fail is kept out of what the share is compared with.
    detector = _calm_proportion()
    states = {detector.update(24 + i, Proportion(120, 400)).state for i in range(240)}
    assert states == {"fail"}
    assert detector.update(300, Proportion(48, 400)).state == "ok"  # the old normal is still normal
