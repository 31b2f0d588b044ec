"""Rollouts and experiments, read-only: a feature's list of each, a rollout's steps and audited events, and an
experiment's arms with each metric's estimate, interval and p-value and its decision (from the store as is)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from andon.errors import NotFoundError
from andon.web.forms import drawn
from andon.web.render import Ctx

router = APIRouter()


@dataclass(frozen=True, slots=True)
class StepRow:
    """A step of a rollout's plan: the canary's share and how long it is held; ``current`` for the one it is at."""

    index: int
    weight: Any
    hold: Any
    current: bool


@dataclass(frozen=True, slots=True)
class ArmResult:
    """One treatment arm's always-valid result on one metric, as the watcher stored it."""

    metric: str
    arm: str
    estimate: float | None
    low: float | None
    high: float | None
    p_value: float | None
    n_control: int | None
    n_treatment: int | None


@dataclass(frozen=True, slots=True)
class MetricLine:
    """One metric of a step's canary analysis: its verdict and the two versions' values on their calls."""

    metric: str
    classification: str
    canary: float | None
    stable: float | None
    n_canary: int | None
    n_stable: int | None


@dataclass(frozen=True, slots=True)
class EventAnalysis:
    """A rollout event's canary analysis read plainly: the score against its pass mark, and each metric."""

    score: float | None
    pass_score: float | None
    metrics: list[MetricLine]


def analysis_of(data: Any) -> EventAnalysis | None:
    """The canary analysis an event carries (itself, or under ``analysis`` on a promotion); None for other data."""
    found = data.get("analysis") if isinstance(data, dict) and isinstance(data.get("analysis"), dict) else data
    if not isinstance(found, dict) or not isinstance(found.get("metrics"), list):
        return None
    metrics = [m for m in found["metrics"] if isinstance(m, dict)]
    fields = ("canary", "stable", "n_canary", "n_stable")
    lines = [MetricLine(str(m.get("metric")), str(m.get("classification")), *(m.get(f) for f in fields))
             for m in metrics]  # fmt: skip
    return EventAnalysis(found.get("score"), found.get("pass_score"), lines)


def steps_of(settings: dict[str, Any], at: int) -> list[StepRow]:
    """The plan the rollout started with (``settings.config.steps``), read plainly: a missing field shows empty."""
    config = settings.get("config") if isinstance(settings.get("config"), dict) else {}
    steps = config.get("steps") if isinstance(config, dict) else None
    rows = steps if isinstance(steps, list) else []
    return [StepRow(i, s.get("weight"), s.get("hold"), i == at) for i, s in enumerate(rows) if isinstance(s, dict)]


def results_of(results: dict[str, Any]) -> list[ArmResult]:
    """Every (metric, arm) result of an experiment, in the stored order; numbers kept as they are (None: unbounded)."""
    out: list[ArmResult] = []
    for metric, arms in results.items():
        for arm, found in (arms or {}).items():
            got = found if isinstance(found, dict) else {}
            out.append(
                ArmResult(str(metric), str(arm), got.get("estimate"), got.get("low"), got.get("high"),
                          got.get("p_value"), got.get("n_control"), got.get("n_treatment"))
            )  # fmt: skip
    return out


def _feature_view(ctx: Ctx, name: str, kind: str) -> Response:
    try:
        ctx.ws.feature(name)
    except NotFoundError as exc:
        return ctx.refuse(404, exc.message)
    if kind == "rollouts":
        return ctx.render("rollouts.html", name=name, rollouts=ctx.store.list_rollouts(name))
    return ctx.render("experiments.html", name=name, experiments=ctx.store.list_experiments(name))


def _rollout_view(ctx: Ctx, ref: str) -> Response:
    try:
        record = ctx.store.get_rollout(ref)
    except NotFoundError:
        return ctx.refuse(404, ctx.fmt.t("webdeploy.rollout.missing", id=ref))
    events = list(reversed(ctx.store.rollout_events(record.id)))  # newest first, as the feature's history
    analyses = {e.id: analysis_of(e.data) for e in events}
    return ctx.render(
        "rollout.html", r=record, steps=steps_of(record.settings, record.step), events=events, analyses=analyses
    )


def _experiment_view(ctx: Ctx, ref: str) -> Response:
    try:
        record = ctx.store.get_experiment(ref)
    except NotFoundError:
        return ctx.refuse(404, ctx.fmt.t("webdeploy.experiment.missing", id=ref))
    arms = record.settings.get("arms") if isinstance(record.settings.get("arms"), list) else []
    decision = record.decision or {}
    return ctx.render("experiment.html", x=record, arms=arms, results=results_of(record.results), decision=decision)


@router.get("/features/{name}/rollouts")
async def rollouts_page(request: Request, name: str) -> Response:
    """The feature's rollouts, newest first."""
    return await drawn(request, _feature_view, name, "rollouts")


@router.get("/features/{name}/experiments")
async def experiments_page(request: Request, name: str) -> Response:
    """The feature's experiments, newest first."""
    return await drawn(request, _feature_view, name, "experiments")


@router.get("/rollouts/{ref}")
async def rollout_page(request: Request, ref: str) -> Response:
    """One rollout: its versions, state, plan of steps and audited events (analyses included)."""
    return await drawn(request, _rollout_view, ref)


@router.get("/experiments/{ref}")
async def experiment_page(request: Request, ref: str) -> Response:
    """One experiment: its arms, each metric's estimate and always-valid interval, and its decision."""
    return await drawn(request, _experiment_view, ref)
