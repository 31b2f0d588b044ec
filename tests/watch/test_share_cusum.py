"""The sequential share test: fast on a real shift, quiet on stable shares, and its limit from the ARL0 target."""

from __future__ import annotations

import json

import numpy as np
import pytest

from andon.messages import t
from andon.watch.detectors.arl import cusum_limit, run_length
from andon.watch.detectors.base import Proportion, build_detector
from andon.watch.detectors.sequential import ShareCusum, ShareCusumSettings, bernoulli_llr

MINUTE = 60.0


def labels(minutes: int, share: float, *, per_minute: int = 60, seed: int = 3) -> list[Proportion]:
    """Counts of one label per minute: ``per_minute`` calls (Poisson), each a match with probability ``share``."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(minutes):
        n = int(rng.poisson(per_minute))
        out.append(Proportion(int(rng.binomial(n, share)), n))
    return out


def feed(detector: ShareCusum, points: list[Proportion], start: int = 0) -> list[str]:
    """Each point at its minute; the states."""
    return [detector.update(MINUTE * (start + i), p).state for i, p in enumerate(points)]


def test_a_shift_from_12_to_30_percent_at_60_calls_a_minute_fails_within_four_points() -> None:
    for seed in range(10):
        d = ShareCusum(ShareCusumSettings())
        assert "fail" not in feed(d, labels(180, 0.12, seed=seed))
        states = feed(d, labels(10, 0.30, seed=100 + seed), start=180)
        assert "fail" in states[:4], (seed, states)


def test_a_stable_12_percent_share_fails_at_most_as_often_as_its_budget_allows_over_ten_days() -> None:
    # ARL0 30 days: 1/3 of an alarm is expected in 10 days, 3 or more has probability < 0.5 %
    d = ShareCusum(ShareCusumSettings())
    states = feed(d, labels(14_400, 0.12, seed=11))
    onsets = sum(1 for before, now in zip(["ok", *states], states, strict=False) if now == "fail" != before)
    assert onsets <= 2


def test_the_limit_gives_the_target_run_length_that_a_simulation_measures() -> None:
    # 12 % -> 22 % on 60 calls a point, a target of 200 points: the chain's limit, checked by brute force
    match, other = bernoulli_llr(0.12, 0.22)
    limit = cusum_limit(200.0, match, other, 60.0, 0.12)
    assert run_length(limit, match, other, 60.0, 0.12) == pytest.approx(200.0, rel=0.01)
    rng = np.random.default_rng(5)
    steps = match * rng.poisson(60 * 0.12, (400, 4000)) + other * rng.poisson(60 * 0.88, (400, 4000))
    runs = []
    for row in steps:
        stat, point = 0.0, 0
        while stat < limit:
            stat, point = max(0.0, stat + row[point]), point + 1
        runs.append(point)
    assert np.mean(runs) == pytest.approx(200.0, rel=0.15)  # 400 runs: the standard error is 5 %
    assert cusum_limit(1e5, match, other, 60.0, 0.12) > cusum_limit(1e3, match, other, 60.0, 0.12)


def test_it_only_learns_until_the_baseline_holds_enough_calls_and_warms_up() -> None:
    d = ShareCusum(ShareCusumSettings(min_baseline_trials=1000, warmup=3))
    warm = [d.update(MINUTE * i, Proportion(30, 60)) for i in range(3)]
    assert [v.state for v in warm] == ["ok"] * 3  # warming up, whatever the share
    # 60 calls a point and 5 points held out: the pool reaches 1000 calls at the 23rd point
    learning = [d.update(MINUTE * i, Proportion(30, 60)) for i in range(3, 22)]
    assert {(v.state, v.reason) for v in learning} == {("ok", t("watch.learning"))}
    assert d.update(MINUTE * 22, Proportion(7, 60)).reason != t("watch.learning")


def test_no_data_is_no_data_and_leaves_the_statistic_alone() -> None:
    d = ShareCusum(ShareCusumSettings())
    feed(d, labels(60, 0.12, seed=5))
    before = json.dumps(d.state())
    assert d.update(MINUTE * 60, None).state == "no_data"
    assert d.update(MINUTE * 61, Proportion(0, 0)).state == "no_data"
    assert json.dumps(d.state()) == before


def test_a_restored_detector_goes_on_exactly_like_the_uninterrupted_one() -> None:
    calm, shifted = labels(120, 0.12, seed=7), labels(10, 0.30, seed=8)
    whole = ShareCusum(ShareCusumSettings())
    first = ShareCusum(ShareCusumSettings())
    feed(whole, calm)
    feed(first, calm)
    again = ShareCusum(ShareCusumSettings())
    again.restore(json.loads(json.dumps(first.state())))
    assert [whole.update(MINUTE * (120 + i), p) for i, p in enumerate(shifted)] == [
        again.update(MINUTE * (120 + i), p) for i, p in enumerate(shifted)
    ]


def test_a_drop_is_caught_when_asked_and_a_rise_both_ways() -> None:
    for direction, after in (("down", 0.02), ("both", 0.02), ("both", 0.30)):
        d = build_detector({"type": "share-cusum", "direction": direction})
        assert isinstance(d, ShareCusum)
        feed(d, labels(180, 0.12, seed=9))
        assert "fail" in feed(d, labels(10, after, seed=10), start=180)
    up = build_detector({"type": "share-cusum"})
    assert isinstance(up, ShareCusum)
    feed(up, labels(180, 0.12, seed=9))
    assert "fail" not in feed(up, labels(10, 0.02, seed=10), start=180)


def test_a_shift_does_not_become_the_baseline_while_it_alarms() -> None:
    d = ShareCusum(ShareCusumSettings())
    feed(d, labels(180, 0.12, seed=12))
    assert feed(d, labels(120, 0.30, seed=13), start=180)[-1] == "fail"
