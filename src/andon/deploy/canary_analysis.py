"""A rollout step judged: canary against stable on the same window, metric by metric, then one weighted score.

Each metric is Pass, High or Low (the canary significantly above or below the stable version by more than
the tolerance) or NoData (too few values). Whether High or Low fails depends on which way is better. The
score is the weighted share of passing metrics among those with data, 0-100; at or above ``pass_score`` the
step is Successful, below ``marginal_score`` Failed, in between Inconclusive (a person decides).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from andon.config.json_values import MissingPath, lookup, parse_number, split_path
from andon.config.rollout import RolloutConfig, RolloutMetric, metric_kind
from andon.evals.stats import quantile
from andon.evals.twosample import iqr_inliers, mann_whitney_u, two_proportion_test
from andon.store.rollouts import RolloutSample

__all__ = ["Analysis", "Arm", "Classification", "MetricResult", "Outcome", "analyse", "judge_metric"]

Classification = Literal["Pass", "High", "Low", "NoData"]
Outcome = Literal["Successful", "Failed", "Inconclusive"]


@dataclass(frozen=True, slots=True)
class Arm:
    """What one version did in the window: its traced calls and its thumbs feedback (True: negative)."""

    samples: Sequence[RolloutSample]
    feedback: Sequence[bool] = ()


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric's verdict and its evidence (the values compared, the counts, the tests' p-values)."""

    metric: str
    kind: str
    classification: Classification
    passed: bool | None  # None: NoData
    weight: float
    tolerance: float
    canary: float | None  # the rate, or the median
    stable: float | None
    n_canary: int
    n_stable: int
    p_high: float | None
    p_low: float | None
    dropped: int = 0  # outliers left out, both versions together

    def to_json(self) -> dict[str, Any]:
        """A plain dict for the audit event and ``--json``."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Analysis:
    """A step's outcome, its score and every metric's result."""

    outcome: Outcome
    score: float | None
    pass_score: float
    marginal_score: float
    results: tuple[MetricResult, ...]

    def to_json(self) -> dict[str, Any]:
        """A plain dict for the audit event and ``--json``."""
        return {
            "outcome": self.outcome,
            "score": self.score,
            "pass_score": self.pass_score,
            "marginal_score": self.marginal_score,
            "metrics": [r.to_json() for r in self.results],
        }


def _at(sample: RolloutSample, metric: RolloutMetric) -> Any:
    assert metric.path is not None
    try:
        return lookup(sample.tags if metric.in_tags else sample.output_json, split_path(metric.path, "path"))
    except MissingPath:
        return None


def _rate(metric: RolloutMetric, arm: Arm) -> tuple[int, int]:
    """(hits, trials) of a rate metric in one version."""
    if metric.metric == "error_rate":
        return sum(1 for s in arm.samples if s.failed), len(arm.samples)
    if metric.metric == "negative_feedback_rate":
        return sum(1 for negative in arm.feedback if negative), len(arm.feedback)
    answered = [s for s in arm.samples if not s.failed]
    return sum(1 for s in answered if str(_at(s, metric)) in metric.labels), len(answered)


def _values(metric: RolloutMetric, arm: Arm) -> list[float]:
    """The continuous metric's values in one version (answered calls only: failures are error_rate's)."""
    answered = [s for s in arm.samples if not s.failed]
    if metric.metric == "latency_ms":
        return [s.latency_ms for s in answered]
    if metric.metric == "cost":
        return [float(s.cost) for s in answered if s.cost is not None]
    found = (parse_number(_at(s, metric)) for s in answered)
    return [float(v) for v in found if v is not None]


def _classify(p_high: float, p_low: float, alpha: float) -> Classification:
    if p_high < alpha and p_high <= p_low:
        return "High"
    if p_low < alpha:
        return "Low"
    return "Pass"


def _passed(classification: Classification, better: str) -> bool | None:
    if classification == "NoData":
        return None
    if classification == "Pass":
        return True
    if better == "lower":
        return classification == "Low"
    if better == "higher":
        return classification == "High"
    return False  # better: none — any significant change fails


def _result(
    metric: RolloutMetric,
    found: Classification,
    values: tuple[float | None, float | None],
    counts: tuple[int, int],
    p: tuple[float | None, float | None] = (None, None),
    dropped: int = 0,
) -> MetricResult:
    passed = _passed(found, metric.direction)
    return MetricResult(metric.metric, metric_kind(metric.metric), found, passed, metric.weight, metric.tolerance,
                        values[0], values[1], counts[0], counts[1], p[0], p[1], dropped)  # fmt: skip


def judge_metric(metric: RolloutMetric, canary: Arm, stable: Arm, alpha: float) -> MetricResult:
    """One metric: canary against stable, direction-aware, with the tolerance."""
    tol = metric.tolerance
    if metric_kind(metric.metric) == "rate":
        (kc, nc), (ks, ns) = _rate(metric, canary), _rate(metric, stable)
        rates = (kc / nc if nc else None, ks / ns if ns else None)
        if min(nc, ns) < metric.min_samples:
            return _result(metric, "NoData", rates, (nc, ns))
        _, p_high = two_proportion_test(kc, nc, ks, ns, margin=tol, alternative="greater")
        _, p_low = two_proportion_test(kc, nc, ks, ns, margin=-tol, alternative="less")
        return _result(metric, _classify(p_high, p_low, alpha), rates, (nc, ns), (p_high, p_low))
    raw_c, raw_s = _values(metric, canary), _values(metric, stable)
    vc, vs = (iqr_inliers(raw_c), iqr_inliers(raw_s)) if metric.outliers == "iqr" else (raw_c, raw_s)
    dropped = len(raw_c) - len(vc) + len(raw_s) - len(vs)
    medians = (quantile(vc, 0.5) if vc else None, quantile(vs, 0.5) if vs else None)
    if min(len(vc), len(vs)) < metric.min_samples:
        return _result(metric, "NoData", medians, (len(vc), len(vs)), dropped=dropped)
    # The tolerance is relative: "worse by more than 20 %" is the canary against stable values scaled by 1.2.
    _, p_high = mann_whitney_u(vc, [v * (1 + tol) for v in vs], "greater")
    _, p_low = mann_whitney_u(vc, [v * (1 - tol) for v in vs], "less")
    found = _classify(p_high, p_low, alpha)
    return _result(metric, found, medians, (len(vc), len(vs)), (p_high, p_low), dropped)


def analyse(config: RolloutConfig, canary: Arm, stable: Arm) -> Analysis:
    """Every metric of ``config`` judged, the weighted score, and the step's outcome."""
    results = tuple(judge_metric(m, canary, stable, config.alpha) for m in config.metrics)
    judged = [r for r in results if r.passed is not None]
    total = sum(r.weight for r in judged)
    score = None if not judged or total <= 0 else round(100 * sum(r.weight for r in judged if r.passed) / total, 2)
    outcome: Outcome
    if score is None:
        outcome = "Inconclusive"
    elif score >= config.pass_score:
        outcome = "Successful"
    elif score < config.marginal_score:
        outcome = "Failed"
    else:
        outcome = "Inconclusive"
    return Analysis(outcome, score, config.pass_score, config.marginal_score, results)
