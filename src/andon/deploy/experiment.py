"""Online A/B experiments: a feature's units split among versions (sticky), judged by an always-valid test.

``start_experiment`` takes the feature's traffic (one experiment, and no rollout, per feature at a time);
the gateway serves each unit its arm (``experiment_split``); clients push outcomes (``record_events``).
``look`` may run any time (the watcher's tick does): it updates each metric's running always-valid result
(``evals.sequential``) and stops the experiment when the primary metric has a winner at the stated alpha,
when an arm makes a guardrail worse, or when ``max_samples`` units have been seen.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from andon.config.experiment import EXPERIMENT_METRICS, ExperimentConfig, ExperimentMetric
from andon.deploy._common import actor_name, clean_reason, require_feature
from andon.deploy.assignment import BUCKETS, Arm, Split, choose
from andon.deploy.live import live_version
from andon.errors import AndonError, ConfigError, NotFoundError
from andon.evals.sequential import SequentialResult, from_json, means, proportions, running
from andon.messages import t
from andon.store.experiments import ExperimentCall, ExperimentRecord, NewExperimentEvent
from andon.store.models import utcnow
from andon.store.records import new_id
from andon.workspace import Workspace

__all__ = [
    "ExperimentError",
    "Look",
    "OutcomeIn",
    "adhoc_config",
    "experiment_config",
    "experiment_split",
    "look",
    "look_all",
    "record_events",
    "record_trace_outcomes",
    "start_experiment",
    "stop_experiment",
]

log = logging.getLogger("andon.deploy")
LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class ExperimentError(AndonError):
    """An experiment cannot be started or changed as asked (none running, one running already, a rollout)."""


@dataclass(frozen=True, slots=True)
class Look:
    """One look at an experiment: each treatment arm's result per metric, units seen, and what was decided."""

    record: ExperimentRecord
    results: dict[str, dict[str, dict[str, Any]]]  # metric -> treatment arm label -> SequentialResult JSON
    units: dict[str, int]  # arm label -> exposed units
    decision: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class OutcomeIn:
    """An outcome a client pushes: for a unit key or the trace the unit was served in."""

    name: str
    value: float
    unit: str | None = None
    trace_id: str | None = None
    at: datetime | None = None


def experiment_config(record: ExperimentRecord) -> ExperimentConfig:
    """The settings the experiment started with (later edits of andon.yaml do not change a running one)."""
    return ExperimentConfig.model_validate(record.settings["config"])


def _weights(percents: list[float]) -> list[int]:
    """Percent weights as basis points that add up to exactly ``BUCKETS`` (the last arm takes the rounding)."""
    points = [round(p * BUCKETS / 100) for p in percents[:-1]]
    return [*points, BUCKETS - sum(points)]


def experiment_split(record: ExperimentRecord | None) -> Split | None:
    """The sticky split the gateway serves while the experiment runs (None once it has stopped)."""
    if record is None or not record.active:
        return None
    arms = tuple(Arm(a["version_id"], a["weight"], a["label"]) for a in record.settings["arms"])
    return Split(record.feature, record.id, arms, record.settings["config"].get("unit", "user"))


def arm_index(record: ExperimentRecord, unit: str) -> int:
    """Which arm (by index) the unit is in: the same hash the gateway assigns by."""
    split = experiment_split(record) or Split(
        record.feature, record.id,
        tuple(Arm(a["version_id"], a["weight"], a["label"]) for a in record.settings["arms"]), "user",
    )  # fmt: skip
    label = choose(split, unit).label
    return LABELS.index(label)


# --- a person's acts -------------------------------------------------------------------------------------


# The flag of `andon experiment start FEATURE A B …` that sets each field (named in its errors).
_FLAGS = {"arms": "--split", "metric": "--metric", "guardrails": "--guardrail", "unit": "--unit", "alpha": "--alpha",
          "effect": "--effect", "min_samples": "--min-samples", "max_samples": "--max-samples"}  # fmt: skip
UNITS = ("user", "session", "tenant")


def _metric_flag(text: str, flag: str) -> dict[str, Any]:
    """``conversion``, ``latency_ms`` or ``value:revenue`` (a metric and the pushed event it counts)."""
    metric, _, event = text.strip().partition(":")
    if metric not in EXPERIMENT_METRICS:
        raise ConfigError(t("experiment.config.unknown_metric", metric=metric, known=", ".join(EXPERIMENT_METRICS)),
                          where=flag, hint=t("experiment.adhoc.metric_hint"))  # fmt: skip
    return {"metric": metric, "event": event.strip()} if event.strip() else {"metric": metric}


def _split_flag(text: str | None, count: int) -> list[float]:
    """``50/50`` or ``40/30/30``: one percent share per version (none given: equal shares)."""
    if text is None:
        return [100 / count] * count
    parts = [p.strip() for p in text.split("/")]
    try:
        shares = [float(p) for p in parts]
    except ValueError:
        raise ConfigError(t("experiment.adhoc.split_number", split=text), where="--split",
                          hint=t("experiment.adhoc.split_hint")) from None  # fmt: skip
    if len(shares) != count:
        raise ConfigError(t("experiment.adhoc.split_count", split=text, shares=len(shares), versions=count),
                          where="--split", hint=t("experiment.adhoc.split_hint"))  # fmt: skip
    return shares


def adhoc_config(
    versions: list[str],
    *,
    metric: str | None,
    split: str | None = None,
    guardrails: list[str] | None = None,
    unit: str | None = None,
    alpha: float | None = None,
    effect: float | None = None,
    min_samples: int | None = None,
    max_samples: int | None = None,
) -> ExperimentConfig:
    """The settings of ``andon experiment start FEATURE A B --metric … --split 50/50`` (no ``experiments:`` entry).

    Unset options take the defaults of an ``experiments:`` entry; a bad flag is a ConfigError naming it.
    """
    if len(versions) < 2:
        raise ConfigError(t("experiment.adhoc.two_versions", count=len(versions)), where="VERSIONS",
                          hint=t("experiment.adhoc.two_versions_hint"))  # fmt: skip
    if metric is None:
        raise ConfigError(t("experiment.adhoc.metric_needed"), where="--metric", hint=t("experiment.adhoc.metric_hint"))
    if unit is not None and unit not in UNITS:
        raise ConfigError(t("experiment.adhoc.unit", unit=unit, known=", ".join(UNITS)), where="--unit")
    twice = next((v for i, v in enumerate(versions) if v in versions[:i]), None)
    if twice is not None:
        raise ConfigError(t("experiment.config.arm_twice", version=twice), where="VERSIONS")
    shares = _split_flag(split, len(versions))
    names = [g.strip() for entry in guardrails or [] for g in entry.split(",") if g.strip()]
    data: dict[str, Any] = {
        "arms": [{"version": v, "weight": w} for v, w in zip(versions, shares, strict=True)],
        "metric": _metric_flag(metric, "--metric"),
        "guardrails": [_metric_flag(g, "--guardrail") for g in names],
    }
    options = {"unit": unit, "alpha": alpha, "effect": effect, "min_samples": min_samples, "max_samples": max_samples}
    data.update({key: value for key, value in options.items() if value is not None})
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        if error["loc"]:
            where = _FLAGS.get(str(error["loc"][0]), "--" + str(error["loc"][0]))
        else:  # the whole-entry checks: a metric listed twice, or max_samples below two arms of min_samples
            where = "--max-samples" if "max_samples" in message else "--guardrail"
        raise ConfigError(message, where=where) from None


def adhoc_name(versions: list[str]) -> str:
    """The name an ad-hoc experiment is recorded under: its versions, control first (``v1-vs-v2``)."""
    return "-vs-".join(versions)[:200]


def start_experiment(
    ws: Workspace,
    feature: str,
    name: str,
    *,
    settings: ExperimentConfig | None = None,
    actor: str | None = None,
    reason: str | None = None,
) -> ExperimentRecord:
    """Start the feature's experiment ``name`` (from ``experiments:``, or ``settings`` given on the command line).

    Its arms take the traffic from now on.
    """
    config = require_feature(ws, feature)
    where = f"features.{feature}.experiments"
    adhoc = settings is not None
    if settings is None:
        settings = config.experiments.get(name)
    if settings is None:
        known = ", ".join(config.experiments) or t("experiment.none")
        raise ConfigError(t("experiment.unknown", name=name, feature=feature), where=where,
                          hint=t("experiment.unknown_hint", known=known))  # fmt: skip
    state = live_version(ws, feature)
    if state.stopped:
        raise ExperimentError(t("experiment.stopped", feature=feature), hint=t("rollout.stopped_hint", feature=feature))
    rollout = ws.store.active_rollout(feature)
    if rollout is not None:
        raise ExperimentError(t("experiment.rollout_active", feature=feature, id=rollout.id))
    ws.sync_versions(feature)
    arms = []
    for index, (arm, weight) in enumerate(zip(settings.arms, _weights([a.weight for a in settings.arms]), strict=True)):
        try:
            version = ws.version(feature, arm.version)
        except NotFoundError as exc:
            at = "VERSIONS" if adhoc else f"{where}.{name}.arms[{index}].version"
            raise ConfigError(exc.message, where=at, hint=exc.hint) from None
        arms.append({"label": LABELS[index], "version_id": version.id, "version_name": version.name, "weight": weight})
    values = {
        "id": new_id("exp"),
        "feature": feature,
        "name": name,
        "status": "running",
        "settings": {"config": settings.model_dump(mode="json"), "arms": arms, "adhoc": adhoc},
        "results": {},
        "decision": None,
        "actor": actor_name(actor),
        "reason": clean_reason(reason),
    }
    created = ws.store.create_experiment(values)
    if created is None:
        active = ws.store.active_experiment(feature)
        raise ExperimentError(t("experiment.active_already", feature=feature, id=active.id if active else "?"),
                              hint=t("experiment.active_already_hint", feature=feature))  # fmt: skip
    return created


def running_experiment(ws: Workspace, feature: str) -> ExperimentRecord:
    """The feature's running experiment, or an ExperimentError saying how to start one."""
    require_feature(ws, feature)
    record = ws.store.active_experiment(feature)
    if record is None:
        raise ExperimentError(t("experiment.none_running", feature=feature),
                              hint=t("experiment.none_running_hint", feature=feature))  # fmt: skip
    return record


def stop_experiment(ws: Workspace, feature: str, *, actor: str | None = None, reason: str | None = None) -> Look:
    """Stop the running experiment by hand: every unit goes back to the live version; its results are kept."""
    record = running_experiment(ws, feature)
    seen = look(ws, record, act=False)
    decision = {"outcome": "stopped", "by": actor_name(actor), "reason": clean_reason(reason), "at": _now()}
    done = ws.store.change_experiment(record.id, seen.record.revision, {"status": "stopped", "decision": decision})
    if done is None:
        raise ExperimentError(t("experiment.busy", feature=feature))
    return Look(done, seen.results, seen.units, decision)


def record_events(ws: Workspace, experiment_ref: str, outcomes: list[OutcomeIn]) -> int:
    """Store outcomes, each attributed to its unit's arm (by the unit's hash, or the trace's arm); all or none."""
    record = ws.store.get_experiment(experiment_ref)
    config = experiment_config(record)
    rows = []
    for index, outcome in enumerate(outcomes):
        unit, arm = outcome.unit, None
        if outcome.trace_id is not None:
            found = ws.store.trace_experiment_unit(outcome.trace_id, record.id, config.unit)
            if found is None:
                raise ConfigError(t("experiment.event.trace", index=index, trace=outcome.trace_id, id=record.id),
                                  where=f"events[{index}].trace_id")  # fmt: skip
            unit = unit or found[0]
            arm = LABELS.index(found[1]) if found[1] in LABELS else None
        if not unit:
            raise ConfigError(t("experiment.event.unit", index=index, unit=config.unit), where=f"events[{index}]")
        rows.append(NewExperimentEvent(outcome.name, unit, arm if arm is not None else arm_index(record, unit),
                                       outcome.value, outcome.trace_id, outcome.at or utcnow()))  # fmt: skip
    return ws.store.add_experiment_events(record.id, rows)


def record_trace_outcomes(ws: Workspace, outcomes: list[tuple[str, OutcomeIn]]) -> int:
    """Outcomes pushed to ``POST /v1/metrics`` with a trace id: each counts for the experiment that served it.

    ``outcomes`` pairs each with where it came from (``points[3]``). A trace served outside any experiment
    counts for none (0 of it); a trace id the store does not have is a ConfigError naming the point.
    """
    experiments = ws.store.trace_experiments([o.trace_id for _, o in outcomes if o.trace_id is not None])
    grouped: dict[str, list[OutcomeIn]] = defaultdict(list)
    for where, outcome in outcomes:
        assert outcome.trace_id is not None
        if outcome.trace_id not in experiments:
            raise ConfigError(t("experiment.metric.no_trace", trace=outcome.trace_id), where=f"{where}.trace_id",
                              hint=t("experiment.metric.no_trace_hint"))  # fmt: skip
        experiment_id = experiments[outcome.trace_id]
        if experiment_id is not None:
            grouped[experiment_id].append(outcome)
    stored = 0
    for experiment_id, batch in grouped.items():
        try:
            stored += record_events(ws, experiment_id, batch)
        except NotFoundError:
            continue  # the trace names an experiment deleted since: nothing left to count for
    return stored


# --- looking -----------------------------------------------------------------------------------------------


def _now() -> str:
    return utcnow().isoformat()


def _unit_samples(
    ws: Workspace, record: ExperimentRecord, metric: ExperimentMetric, exposed: dict[str, set[str]]
) -> dict[str, list[float]]:
    """Per arm label, one value per unit: converted (0/1) or the sum of its values (0 without events)."""
    labels = [a["label"] for a in record.settings["arms"]]
    units = {label: set(exposed.get(label, set())) for label in labels}
    sums: dict[str, float] = {}
    for unit, arm, total in ws.store.experiment_unit_sums(record.id, metric.event_name):
        units[labels[arm]].add(unit)  # an outcome's unit counts even if its calls are beyond the read limit
        sums[unit] = total
    convert = metric.kind == "proportion"
    return {label: [(1.0 if sums.get(u, 0.0) > 0 else 0.0) if convert else sums.get(u, 0.0) for u in members]
            for label, members in units.items()}  # fmt: skip


def _samples(
    ws: Workspace, record: ExperimentRecord, metric: ExperimentMetric, calls: list[ExperimentCall],
    exposed: dict[str, set[str]],
) -> dict[str, list[float]]:  # fmt: skip
    if metric.basis == "unit":
        return _unit_samples(ws, record, metric, exposed)
    out: dict[str, list[float]] = defaultdict(list)
    if metric.basis == "feedback":
        for arm, negative in ws.store.experiment_feedback(record):
            out[arm].append(1.0 if negative else 0.0)
        return out
    for call in calls:
        if metric.metric == "error_rate":
            out[call.arm].append(1.0 if call.failed else 0.0)
        elif metric.metric == "latency_ms":
            out[call.arm].append(call.latency_ms)
        elif call.cost is not None:
            out[call.arm].append(float(call.cost))
    return out


def _test(metric: ExperimentMetric, control: list[float], treatment: list[float], config: ExperimentConfig,
          alpha: float) -> SequentialResult:  # fmt: skip
    if metric.kind == "proportion":
        return proportions(int(sum(control)), len(control), int(sum(treatment)), len(treatment), alpha=alpha,
                           effect=config.effect)  # fmt: skip

    def moments(values: list[float]) -> tuple[int, float, float]:
        return len(values), sum(values), sum(v * v for v in values)

    return means(moments(control), moments(treatment), alpha=alpha, effect=config.effect)


def _previous(stored: dict[str, Any] | None) -> SequentialResult | None:
    return None if not stored else from_json(stored)


def look(ws: Workspace, record: ExperimentRecord, *, act: bool = True) -> Look:
    """Update the experiment's always-valid results from the store; when ``act``, stop it once it knows.

    Each treatment arm is tested against the control (the first arm) at ``alpha`` divided by the number of
    treatment arms (Bonferroni), so the chance of any false winner stays at most ``alpha``.
    """
    config = experiment_config(record)
    arms = record.settings["arms"]
    control, treatments = arms[0]["label"], [a["label"] for a in arms[1:]]
    alpha = config.alpha / len(treatments)
    calls = ws.store.experiment_calls(record, config.unit)
    exposed: dict[str, set[str]] = defaultdict(set)
    for call in calls:
        if call.unit:
            exposed[call.arm].add(call.unit)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    found: dict[tuple[str, str], SequentialResult] = {}
    counts = {label: len(members) for label, members in exposed.items()}
    for metric in [config.metric, *config.guardrails]:
        key = metric.metric if metric.event is None else f"{metric.metric}:{metric.event}"
        samples = _samples(ws, record, metric, calls, exposed)
        if metric.basis == "unit":  # a unit with outcomes counts too, even if its calls are beyond the read limit
            for label, values in samples.items():
                counts[label] = max(counts.get(label, 0), len(values))
        results[key] = {}
        for label in treatments:
            fresh = _test(metric, samples.get(control, []), samples.get(label, []), config, alpha)
            ready = min(fresh.n_control, fresh.n_treatment) >= config.min_samples
            previous = _previous(record.results.get(key, {}).get(label))
            # Before min_samples a look is not taken: the running summary starts at the first valid one.
            summary = running(previous, fresh) if ready else (previous or _unready(fresh))
            if ready or previous is not None:
                summary = _with_counts(summary, fresh)
            results[key][label] = summary.to_json()
            found[(key, label)] = summary
    units = {a["label"]: counts.get(a["label"], 0) for a in arms}
    decision = _decide(config, found, units, treatments) if act else None
    if act and decision is None and ws.store.feature_stopped(record.feature)[0]:
        decision = {"outcome": "stopped", "by": "cord", "reason": t("experiment.feature_stopped"), "at": _now()}
    changes: dict[str, Any] = {"results": results}
    if decision is not None:
        changes.update(status=decision["outcome"], decision=decision)
    done = ws.store.change_experiment(record.id, record.revision, changes)
    if decision is not None and done is not None:
        log.warning(t("experiment.log.decided", id=record.id, feature=record.feature, outcome=decision["outcome"]))
    return Look(done or ws.store.get_experiment(record.id), results, units, decision if done else None)


def _unready(fresh: SequentialResult) -> SequentialResult:
    return SequentialResult(fresh.estimate, float("-inf"), float("inf"), 1.0, fresh.n_control, fresh.n_treatment,
                            fresh.control_mean, fresh.treatment_mean)  # fmt: skip


def _with_counts(summary: SequentialResult, fresh: SequentialResult) -> SequentialResult:
    """The running interval and p with the current estimate and counts (what the user looks at now)."""
    return SequentialResult(fresh.estimate, summary.low, summary.high, summary.p_value, fresh.n_control,
                            fresh.n_treatment, fresh.control_mean, fresh.treatment_mean)  # fmt: skip


def _decide(
    config: ExperimentConfig,
    found: dict[tuple[str, str], SequentialResult],
    units: dict[str, int],
    treatments: list[str],
) -> dict[str, Any] | None:
    alpha = config.alpha / len(treatments)
    for guard in config.guardrails:
        key = guard.metric if guard.event is None else f"{guard.metric}:{guard.event}"
        for label in treatments:
            result = found[(key, label)]
            worse = result.low > 0 if guard.direction == "lower" else result.high < 0
            if result.p_value <= alpha and worse:
                return {"outcome": "guardrail", "metric": key, "arm": label, "at": _now(), **_brief(result)}
    primary = config.metric.metric if config.metric.event is None else f"{config.metric.metric}:{config.metric.event}"
    for label in treatments:
        result = found[(primary, label)]
        if result.p_value <= alpha:
            better = result.low > 0 if config.metric.direction == "higher" else result.high < 0
            winner = label if better else "A"
            return {"outcome": "decided", "metric": primary, "arm": label, "winner": winner, "at": _now(),
                    **_brief(result)}  # fmt: skip
    if config.max_samples is not None and sum(units.values()) >= config.max_samples:
        return {"outcome": "exhausted", "metric": primary, "at": _now(), "units": sum(units.values())}
    return None


def _brief(result: SequentialResult) -> dict[str, Any]:
    shown = result.to_json()
    return {key: shown[key] for key in ("estimate", "low", "high", "p_value")}


def look_all(ws: Workspace) -> list[Look]:
    """Look at every running experiment of a feature andon.yaml still has (the watcher's tick calls this)."""
    done = []
    for record in ws.store.active_experiments():
        if record.feature not in ws.config.features:
            continue
        try:
            done.append(look(ws, record))
        except Exception:
            # One broken experiment (the store away for a moment) must not stop the others.
            log.exception("experiment %s of %s could not be looked at", record.id, record.feature)
    return done
