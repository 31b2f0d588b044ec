"""``andon_metric``: a feature's number over a window, computed by the very code the watcher and the gate use.

Trace metrics (error rate, latency percentiles, label and route shares, review backlog and wait …) come from
:func:`andon.watch.sources.trace_metric`; ``cost_per_1k_calls`` from the same trace cost query; ``gate`` reads a
metric of the latest gate verdict (:func:`andon.deploy.evaluation_verdict`) of the live or a named version.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from andon.config.schema import TRACE_METRICS, parse_duration
from andon.deploy import evaluation_verdict, live_version, verdict_metrics
from andon.errors import AndonError, ConfigError
from andon.messages import t
from andon.okr.bindings.base import Binding, BindingContext, BindingError, BindingSettings, Reading, finite
from andon.watch.sources import trace_metric
from andon.workspace import Workspace

EXTRA_METRICS = ("cost_per_1k_calls", "calls", "gate")
METRICS = (*TRACE_METRICS, *EXTRA_METRICS)
# Which optional fields each metric reads; any other one set is a mistake worth naming.
_FIELDS: dict[str, tuple[str, ...]] = {
    "label_share": ("label", "path", "in_tags"),
    "route_share": ("route",),
    "judge_score": ("path", "in_tags"),
    "gate": ("gate_metric", "version"),
}
_OPTIONAL = ("label", "path", "in_tags", "route", "gate_metric", "version")


class AndonMetricSettings(BindingSettings):
    """A feature's metric over ``window`` (a duration such as ``7d``, or ``period``: since the period began)."""

    type: Literal["andon_metric"] = "andon_metric"
    feature: str = Field(min_length=1, description="The feature whose numbers are read.")
    metric: str = Field(description=f"One of {', '.join(METRICS)}.")
    window: float | Literal["period"] = Field(default=7 * 86400.0, description="e.g. 1h, 7d, 30d, or period.")
    label: str | list[str] | None = Field(default=None, description="label_share: the label (or labels) counted.")
    path: str | None = Field(
        default=None, description="label_share, judge_score: dot path into the output (default: the label grader's)."
    )
    in_tags: bool = Field(default=False, description="label_share, judge_score: read `path` in the trace's tags.")
    route: Literal["ai", "human", "shadow", "fallback"] | None = Field(default=None, description="route_share.")
    gate_metric: str | None = Field(default=None, description="gate: the metric of the verdict, e.g. accuracy.")
    version: str | None = Field(default=None, description="gate: the version judged (default: the live one).")
    scale: float = Field(default=1.0, gt=0, description="Multiplies the number (100: a share as a percentage).")

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> Any:
        return value if value == "period" else parse_duration(value)

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(t("okr.bind.metric.unknown", metric=value, known=", ".join(METRICS)))
        return value


class AndonMetric(Binding):
    """A feature's metric from andon's own traces, review queue or latest gate verdict."""

    type_name: ClassVar[str] = "andon_metric"
    Settings: ClassVar[type[BindingSettings]] = AndonMetricSettings
    settings: AndonMetricSettings

    @classmethod
    def check(cls, settings: BindingSettings, where: str) -> None:
        """The fields the metric needs are set, and no field it ignores (a ConfigError naming that field)."""
        assert isinstance(settings, AndonMetricSettings)
        wanted = _FIELDS.get(settings.metric, ())
        for name in _OPTIONAL:
            if name not in wanted and getattr(settings, name) not in (None, False):
                raise ConfigError(
                    t("okr.bind.metric.field_unused", field=name, metric=settings.metric),
                    where=f"{where}.{name}",
                    hint=t("okr.bind.hint.metric_fields", metric=settings.metric, fields=", ".join(wanted) or "-"),
                )
        needs = {"label_share": "label", "route_share": "route", "judge_score": "path", "gate": "gate_metric"}
        need = needs.get(settings.metric)
        if need is not None and getattr(settings, need) is None:
            raise ConfigError(
                t("okr.bind.metric.needs", metric=settings.metric, field=need),
                where=f"{where}.{need}",
                hint=t("okr.bind.hint.metric_fields", metric=settings.metric, fields=", ".join(wanted)),
            )
        if settings.metric == "gate" and "window" in settings.model_fields_set:
            raise ConfigError(t("okr.bind.metric.gate_window"), where=f"{where}.window", hint=t("okr.bind.hint.gate"))

    def describe(self) -> str:
        """``menu-review label_share[approve] 7d``."""
        s = self.settings
        what = s.metric
        if s.label is not None:
            what += f"[{s.label if isinstance(s.label, str) else ','.join(s.label)}]"
        if s.gate_metric is not None:
            what += f"[{s.gate_metric}]"
        window = "" if s.metric == "gate" else f" {_window_text(s.window)}"
        return f"{s.feature} {what}{window}"

    def read(self, context: BindingContext) -> Reading:
        """The metric's value (times ``scale``); a BindingError when the window has no data."""
        s, ws = self.settings, context.ws
        if s.feature not in ws.config.features:
            raise BindingError(
                t("okr.bind.metric.no_feature", feature=s.feature),
                where="binding.feature",
                hint=t("okr.bind.hint.features", names=", ".join(ws.config.features) or "-"),
            )
        if s.metric == "gate":
            return self._gate(ws)
        end = context.end
        start = context.period_start if s.window == "period" else end - timedelta(seconds=float(s.window))
        if start >= end:
            raise BindingError(t("okr.bind.metric.empty_window", start=start.isoformat(), end=end.isoformat()))
        snapshot: dict[str, Any] = {
            "feature": s.feature,
            "metric": s.metric,
            "window": {"start": start.isoformat(), "end": end.isoformat()},
        }
        value = self._traces(ws, start, end, snapshot)
        snapshot["value"] = value
        if s.scale != 1.0:
            snapshot["scale"] = s.scale
        return Reading(finite(value * s.scale, s.metric), snapshot)

    def _traces(self, ws: Workspace, start: datetime, end: datetime, snapshot: dict[str, Any]) -> float:
        s, store = self.settings, ws.store
        if s.metric == "calls":
            calls = store.trace_calls(s.feature, start, end)
            snapshot["calls"] = calls
            return float(calls)
        if s.metric == "cost_per_1k_calls":
            total, calls = store.trace_cost(s.feature, start, end)
            snapshot.update(cost=total, calls=calls)
            if calls == 0:
                raise BindingError(t("okr.bind.metric.no_calls", feature=s.feature, start=start.isoformat()))
            return total / calls * 1000.0
        path = s.path
        if s.metric == "label_share":
            path = path or _label_path(ws, s.feature)
            snapshot.update(label=s.label, path=path)
        measured = trace_metric(
            store, s.feature, s.metric, start, end, route=s.route, path=path, label=s.label, in_tags=s.in_tags
        )
        if measured.counts is not None:
            snapshot.update(hits=measured.counts.successes, trials=measured.counts.trials)
        elif measured.calls is not None:
            snapshot["calls"] = measured.calls
        if measured.value is None:
            raise BindingError(
                t("okr.bind.metric.no_data", metric=s.metric, feature=s.feature, start=start.isoformat())
            )
        return measured.value

    def _gate(self, ws: Workspace) -> Reading:
        s = self.settings
        assert s.gate_metric is not None  # the settings require it for metric gate
        try:
            if s.version is not None:
                version = ws.version(s.feature, s.version)
            else:
                version_id, _name = live_version(ws, s.feature).require()
                version = ws.version(s.feature, version_id)
            verdict = evaluation_verdict(ws, s.feature, version)
            metrics = verdict_metrics(ws, s.feature, verdict)
        except AndonError as exc:
            raise BindingError(exc.message, where=exc.where, hint=exc.hint) from None
        if verdict.run_id is None:
            raise BindingError(t("okr.bind.metric.never_evaluated", version=version.name, feature=s.feature))
        found = metrics.get(s.gate_metric)
        if found is None:
            raise BindingError(
                t("okr.bind.metric.not_in_run", metric=s.gate_metric, run=verdict.run_id),
                hint=t("okr.bind.hint.run_metrics", names=", ".join(sorted(metrics)) or "-"),
            )
        snapshot = {
            "feature": s.feature,
            "metric": "gate",
            "gate_metric": s.gate_metric,
            "version": version.name,
            "version_id": version.id,
            "run": verdict.run_id,
            "passed": verdict.passed,
            "value": found.value,
            "n": found.n,
            "unit": found.unit,
        }
        if s.scale != 1.0:
            snapshot["scale"] = s.scale
        return Reading(finite(found.value * s.scale, s.gate_metric), snapshot)


def _label_path(ws: Workspace, feature: str) -> str:
    """The path the feature's label grader reads (``decision`` in the demo); a BindingError when there is none."""
    for grader in ws.config.features[feature].graders:
        path = getattr(grader, "path", None)
        if grader.base_type == "label" and isinstance(path, str) and path:
            return path
    raise BindingError(
        t("okr.bind.metric.no_path", feature=feature), where="binding.path", hint=t("okr.bind.hint.path")
    )


def _window_text(window: float | str) -> str:
    if window == "period":
        return "period"
    seconds = float(window)
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
