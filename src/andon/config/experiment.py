"""A feature's ``experiments:``: A/B tests of versions on live traffic, judged by an always-valid sequential test.

experiments:
  shorter-answers:
    unit: user                      # what keeps one arm: user, session or tenant
    arms:                           # the first arm is the control
      - {version: v1, weight: 50}
      - {version: v2, weight: 50}
    metric: conversion              # or {metric: value, event: revenue, better: higher}
    guardrails: [error_rate, latency_ms]
    alpha: 0.05
    min_samples: 100                # per arm, before the first look
    max_samples: 20000              # units in all: the experiment stops there undecided
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from andon.messages import t

__all__ = ["EXPERIMENT_METRICS", "ExperimentArm", "ExperimentConfig", "ExperimentMetric"]

Kind = Literal["proportion", "mean"]
Better = Literal["lower", "higher"]
Basis = Literal["unit", "call", "feedback"]

# metric -> (test, default better, what one sample is): a unit's conversion or value comes from pushed events,
# the others from the traces (one sample per call) or the thumbs feedback on them.
EXPERIMENT_METRICS: dict[str, tuple[Kind, Better, Basis]] = {
    "conversion": ("proportion", "higher", "unit"),
    "value": ("mean", "higher", "unit"),
    "error_rate": ("proportion", "lower", "call"),
    "latency_ms": ("mean", "lower", "call"),
    "cost": ("mean", "lower", "call"),
    "negative_feedback_rate": ("proportion", "lower", "feedback"),
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExperimentArm(_Section):
    """One arm: a version and its share of the units, in percent."""

    version: str = Field(min_length=1, description="A version of the feature (name or id).")
    weight: float = Field(gt=0, le=100, description="Percent of the units sent to this arm.")


def _metric_shorthand(value: Any) -> Any:
    return {"metric": value} if isinstance(value, str) else value


class ExperimentMetric(_Section):
    """A metric compared between the arms; ``event`` names the pushed event of ``conversion`` and ``value``."""

    metric: str = Field(description=f"One of {', '.join(EXPERIMENT_METRICS)}.")
    event: str | None = Field(default=None, description="conversion, value: the event name (default: the metric's).")
    better: Better | None = Field(default=None, description="lower or higher; default: the metric's own.")

    @field_validator("metric")
    @classmethod
    def _known(cls, metric: str) -> str:
        if metric not in EXPERIMENT_METRICS:
            raise ValueError(t("experiment.config.unknown_metric", metric=metric, known=", ".join(EXPERIMENT_METRICS)))
        return metric

    @model_validator(mode="after")
    def _event_only_for_units(self) -> ExperimentMetric:
        if self.event is not None and self.basis != "unit":
            raise ValueError(t("experiment.config.event_for", metric=self.metric))
        return self

    @property
    def kind(self) -> Kind:
        """``proportion`` or ``mean``: which sequential test judges it."""
        return EXPERIMENT_METRICS[self.metric][0]

    @property
    def basis(self) -> Basis:
        """What one sample is: a unit (pushed events), a call (traces) or a thumbs feedback."""
        return EXPERIMENT_METRICS[self.metric][2]

    @property
    def direction(self) -> Better:
        """Which way is better (the metric's own unless ``better`` says otherwise)."""
        return self.better or EXPERIMENT_METRICS[self.metric][1]

    @property
    def event_name(self) -> str:
        """The pushed event this metric counts (its ``event``, or the metric's name)."""
        return self.event or self.metric


MetricEntry = Annotated[ExperimentMetric, BeforeValidator(_metric_shorthand)]


class ExperimentConfig(_Section):
    """How ``andon experiment start`` splits a feature's units among versions and when it stops."""

    unit: Literal["user", "session", "tenant"] = Field(
        default="user", description="What keeps one arm: the caller's user, session or tenant id."
    )
    arms: list[ExperimentArm] = Field(min_length=2, description="The first arm is the control; weights add up to 100.")
    metric: MetricEntry = Field(description="The primary metric that decides the winner.")
    guardrails: list[MetricEntry] = Field(
        default_factory=list, description="Metrics that stop the experiment when an arm makes them worse."
    )
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="Error guarantee of the always-valid test.")
    effect: float = Field(
        default=0.1, gt=0, le=10, description="The effect size (in standard deviations) the test is tuned to find."
    )
    min_samples: int = Field(default=100, ge=2, description="Samples per arm before the first look.")
    max_samples: int | None = Field(default=None, ge=4, description="Units in all; then it stops undecided.")

    @field_validator("arms")
    @classmethod
    def _arms(cls, arms: list[ExperimentArm]) -> list[ExperimentArm]:
        total = sum(a.weight for a in arms)
        if abs(total - 100) > 1e-6:
            raise ValueError(t("experiment.config.weights", total=f"{total:g}"))
        seen: set[str] = set()
        for arm in arms:
            if arm.version in seen:
                raise ValueError(t("experiment.config.arm_twice", version=arm.version))
            seen.add(arm.version)
        return arms

    @model_validator(mode="after")
    def _guardrails(self) -> ExperimentConfig:
        names = [(g.metric, g.event) for g in self.guardrails]
        for index, key in enumerate(names):
            if key in names[:index] or key == (self.metric.metric, self.metric.event):
                raise ValueError(t("experiment.config.metric_twice", metric=key[0]))
        if self.max_samples is not None and self.max_samples < 2 * self.min_samples:
            raise ValueError(t("experiment.config.max_below", max=self.max_samples, min=self.min_samples))
        return self
