"""A feature's ``rollout:`` section: the canary's steps, who sticks to a version, and how each step is judged.

rollout:
  sticky: user
  steps: [{weight: 5, hold: 10m}, {weight: 25, calls: 500}, {weight: 50, hold: 1h}]
  metrics:
    - {metric: error_rate, tolerance: 0.01, weight: 3}
    - {metric: latency_ms, tolerance: 0.2}
  pass_score: 95
  marginal_score: 75
"""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from andon.config.durations import Duration
from andon.config.json_values import split_path
from andon.errors import ConfigError
from andon.messages import t

__all__ = ["ROLLOUT_METRICS", "RolloutConfig", "RolloutMetric", "RolloutStep", "metric_kind"]

Kind = Literal["rate", "continuous"]
Better = Literal["lower", "higher", "none"]

# Each metric a step is judged on: whether it is a rate (two-proportion test) or continuous (Mann-Whitney),
# and which way is better by default.
ROLLOUT_METRICS: dict[str, tuple[Kind, Better]] = {
    "error_rate": ("rate", "lower"),
    "latency_ms": ("continuous", "lower"),
    "cost": ("continuous", "lower"),
    "label_share": ("rate", "none"),
    "judge_score": ("continuous", "higher"),
    "negative_feedback_rate": ("rate", "lower"),
}


def metric_kind(metric: str) -> Kind:
    """``rate`` or ``continuous`` for a known rollout metric."""
    return ROLLOUT_METRICS[metric][0]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RolloutStep(_Section):
    """One step: the canary's share of traffic, held for a time and/or a number of canary calls."""

    weight: float = Field(gt=0, le=100, description="Percent of the units (users, sessions …) sent to the canary.")
    hold: Duration | None = Field(default=None, description="How long the step lasts before it is judged (e.g. 10m).")
    calls: int | None = Field(default=None, ge=1, description="Canary calls the step waits for before it is judged.")

    @model_validator(mode="after")
    def _ends(self) -> RolloutStep:
        if self.hold is None and self.calls is None:
            raise ValueError(t("rollout.config.step_end"))
        return self


class RolloutMetric(_Section):
    """One metric compared between canary and stable, its tolerance, and its weight in the step's score."""

    metric: str = Field(description=f"One of {', '.join(ROLLOUT_METRICS)}.")
    tolerance: float = Field(
        default=0.0,
        ge=0,
        description="How much worse the canary may be: for rates in points (0.01), else relative (0.2 = 20 %).",
    )
    weight: float = Field(default=1.0, gt=0, description="Its share of the step's score.")
    better: Better | None = Field(
        default=None, description="lower, higher, or none (any change fails); default: the metric's own."
    )
    path: str | None = Field(default=None, description="label_share, judge_score: where in the output JSON (or tags).")
    in_tags: bool = Field(default=False, description="Read `path` in the trace's tags instead of the output JSON.")
    labels: list[str] = Field(default_factory=list, description="label_share: the labels counted.")
    min_samples: int = Field(default=20, ge=2, description="Fewer values in either version: NoData.")
    outliers: Literal["iqr", "keep"] = Field(
        default="iqr", description="Continuous metrics: drop values beyond 3 interquartile ranges (iqr) or keep them."
    )

    @field_validator("metric")
    @classmethod
    def _known(cls, metric: str) -> str:
        if metric not in ROLLOUT_METRICS:
            raise ValueError(t("rollout.config.unknown_metric", metric=metric, known=", ".join(ROLLOUT_METRICS)))
        return metric

    @model_validator(mode="after")
    def _needs(self) -> RolloutMetric:
        if self.metric in ("label_share", "judge_score") and self.path is None:
            raise ValueError(t("rollout.config.needs_path", metric=self.metric))
        if self.metric == "label_share" and not self.labels:
            raise ValueError(t("rollout.config.needs_labels"))
        if self.path is not None:
            try:
                split_path(self.path, "path")
            except ConfigError as exc:
                raise ValueError(exc.message) from None
        return self

    @property
    def direction(self) -> Better:
        """Which way is better for this metric (its own default unless ``better`` says otherwise)."""
        return self.better or ROLLOUT_METRICS[self.metric][1]


def _default_metrics() -> list[RolloutMetric]:
    return [
        RolloutMetric(metric="error_rate", tolerance=0.01, weight=2),
        RolloutMetric(metric="latency_ms", tolerance=0.2),
    ]


class RolloutConfig(_Section):
    """How ``andon rollout start`` moves a feature's traffic to a new version, step by step."""

    sticky: Literal["user", "session", "tenant", "call"] = Field(
        default="user", description="What keeps one version: the caller's user, session or tenant id (or each call)."
    )
    steps: list[RolloutStep] = Field(min_length=1, description="Rising canary weights; after the last, it is promoted.")
    metrics: list[RolloutMetric] = Field(default_factory=_default_metrics, min_length=1)
    pass_score: float = Field(default=95.0, ge=0, le=100, description="A step scoring this (0-100) succeeds.")
    marginal_score: float = Field(
        default=75.0, ge=0, le=100, description="Below this a step fails; between the two it pauses for a person."
    )
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="Significance level of each metric's test.")

    @field_validator("steps")
    @classmethod
    def _rising(cls, steps: list[RolloutStep]) -> list[RolloutStep]:
        for number, (before, after) in enumerate(itertools.pairwise(steps), start=2):
            if after.weight <= before.weight:
                raise ValueError(
                    t("rollout.config.not_rising", step=number, weight=after.weight, previous=before.weight)
                )
        return steps

    @field_validator("metrics")
    @classmethod
    def _once(cls, metrics: list[RolloutMetric]) -> list[RolloutMetric]:
        seen: set[tuple[str, str | None]] = set()
        for metric in metrics:
            key = (metric.metric, metric.path)
            if key in seen:
                raise ValueError(t("rollout.config.metric_twice", metric=metric.metric))
            seen.add(key)
        return metrics

    @field_validator("marginal_score")
    @classmethod
    def _below_pass(cls, marginal: float, info: ValidationInfo) -> float:
        passing = info.data.get("pass_score")
        if isinstance(passing, float) and marginal > passing:
            raise ValueError(t("rollout.config.marginal_above", marginal=marginal, passing=passing))
        return marginal
