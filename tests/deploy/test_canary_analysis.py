"""A step's analysis on made-up calls: each metric's class, direction, tolerance, NoData, and the outcome."""

from __future__ import annotations

import random

from andon.config.rollout import RolloutConfig
from andon.deploy.canary_analysis import Arm, analyse
from andon.store.rollouts import RolloutSample


def calls(n: int, *, fail_every: int = 0, latency: float = 100.0, seed: int = 0, label: str = "ok") -> Arm:
    rng = random.Random(seed)
    samples = [
        RolloutSample("v", fail_every > 0 and i % fail_every == 0, latency * rng.uniform(0.8, 1.2), 0.01,
                      {"decision": label, "score": rng.uniform(0.7, 0.9)}, {})
        for i in range(n)
    ]  # fmt: skip
    return Arm(samples)


def config(**extra: object) -> RolloutConfig:
    return RolloutConfig.model_validate({"steps": [{"weight": 10, "calls": 10}], **extra})


def test_the_same_behaviour_passes_every_metric() -> None:
    result = analyse(config(), calls(200, seed=1), calls(400, seed=2))
    assert result.outcome == "Successful" and result.score == 100
    assert [r.classification for r in result.results] == ["Pass", "Pass"]


def test_more_errors_are_high_and_fail_the_step() -> None:
    result = analyse(config(), calls(200, fail_every=4), calls(400))
    error = result.results[0]
    assert (error.metric, error.classification, error.passed) == ("error_rate", "High", False)
    assert result.outcome == "Failed"  # error_rate weighs 2 of 3: score 33 < 75


def test_slower_beyond_the_tolerance_fails_and_faster_passes() -> None:
    slow = analyse(config(), calls(200, latency=150), calls(400))
    assert slow.results[1].classification == "High" and slow.results[1].passed is False
    fast = analyse(config(), calls(200, latency=50), calls(400))
    assert fast.results[1].classification == "Low" and fast.results[1].passed is True
    within = analyse(config(), calls(200, latency=110), calls(400))  # 10 % slower, 20 % allowed
    assert within.results[1].classification == "Pass"


def test_a_failing_light_metric_between_the_thresholds_is_inconclusive() -> None:
    metrics = [{"metric": "error_rate", "weight": 4}, {"metric": "latency_ms", "tolerance": 0.2, "weight": 1}]
    result = analyse(config(metrics=metrics, pass_score=95, marginal_score=70), calls(200, latency=150), calls(400))
    assert result.score == 80 and result.outcome == "Inconclusive"


def test_too_few_calls_are_no_data_and_no_data_everywhere_is_inconclusive() -> None:
    result = analyse(config(), calls(5), calls(400))
    assert [r.classification for r in result.results] == ["NoData", "NoData"]
    assert result.score is None and result.outcome == "Inconclusive"


def test_label_share_and_judge_score_read_the_output() -> None:
    metrics = [
        {"metric": "label_share", "path": "decision", "labels": ["reject"], "better": "lower", "tolerance": 0.05},
        {"metric": "judge_score", "path": "score", "tolerance": 0.05},
    ]
    result = analyse(config(metrics=metrics), calls(200, label="reject"), calls(400))
    share, judge = result.results
    assert (share.classification, share.canary, share.stable, share.passed) == ("High", 1.0, 0.0, False)
    assert judge.classification == "Pass"


def test_outliers_are_dropped_before_the_test() -> None:
    canary = calls(200)
    spiked = Arm([*canary.samples[:-3], *(RolloutSample("v", False, 1e6, 0.01, {}, {}) for _ in range(3))])
    result = analyse(config(), spiked, calls(400))
    assert result.results[1].dropped >= 3 and result.results[1].classification == "Pass"
