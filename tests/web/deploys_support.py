"""A web workspace with a finished rollout of ``menu`` (its steps and events, an analysis among them) and a
decided experiment (two arms, a result per metric, one side unbounded), written through the store's methods."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.web.web_support import write_web_workspace

from andon.deploy.canary_analysis import Analysis, MetricResult
from andon.store.models import utcnow
from andon.store.records import new_id
from andon.store.rollouts import NewRolloutEvent
from andon.workspace import Workspace

XSS = "<script>alert(1)</script>"
STEPS = [{"weight": 5, "hold": 600}, {"weight": 25, "hold": 600}, {"weight": 50, "hold": 1200}]
RESULTS: dict[str, dict[str, dict[str, Any]]] = {
    "conversion": {"B": {"estimate": 0.0412, "low": 0.0105, "high": 0.0719, "p_value": 0.0031, "n_control": 5120,
                         "n_treatment": 5088, "control_mean": 0.1, "treatment_mean": 0.1412}},
    "latency_ms": {"B": {"estimate": -12.5, "low": None, "high": -1.25, "p_value": 0.02, "n_control": 5120,
                         "n_treatment": 5088, "control_mean": 150.0, "treatment_mean": 137.5}},
}  # fmt: skip


# A step's canary analysis as the watcher stores it (deploy.canary_analysis): one metric passed, one too few calls.
ANALYSIS = Analysis(
    "pass", 100.0, 95.0, 75.0,
    (MetricResult("error_rate", "rate", "Pass", True, 1.0, 0.01, 0.004, 0.005, 480, 9520, 0.61, 0.4),
     MetricResult("p95_latency_ms", "latency", "NoData", None, 1.0, 0.1, None, None, 3, 9520, None, None)),
)  # fmt: skip


def write_deploys_workspace(folder: Path) -> tuple[Path, str, str]:
    """The workspace, the rollout's id and the experiment's id."""
    write_web_workspace(folder)
    with Workspace.open(folder) as ws:
        versions = ws.declared_versions("menu")
        stable, canary = versions[0], versions[-1]
        started = utcnow() - timedelta(hours=2)
        rollout = ws.store.create_rollout(
            {"id": new_id("rol"), "feature": "menu", "stable_id": stable.id, "stable_name": stable.name,
             "canary_id": canary.id, "canary_name": canary.name, "status": "running", "step": 0, "weight": 500,
             "step_started_at": started, "settings": {"config": {"steps": STEPS}}, "actor": "user:vera",
             "reason": XSS},
            NewRolloutEvent("started", 0, "user:vera", "first canary", {"weight": 5}),
        )  # fmt: skip
        assert rollout is not None
        judged = NewRolloutEvent("analysis", 0, "watcher", "pass", ANALYSIS.to_json() | {"weight": 500})
        passed = NewRolloutEvent("next_step", 0, "watcher", "step passed", {"verdict": "pass"})
        moved = ws.store.change_rollout(rollout.id, rollout.revision, {"step": 1, "weight": 2500}, [judged, passed])
        assert moved is not None
        experiment = ws.store.create_experiment(
            {"id": new_id("exp"), "feature": "menu", "name": "price", "status": "running",
             "settings": {"config": {"unit": "user"}, "arms": [
                 {"label": "A", "version_id": stable.id, "version_name": stable.name, "weight": 50},
                 {"label": "B", "version_id": canary.id, "version_name": canary.name, "weight": 50}]},
             "results": {}, "decision": None, "actor": "user:vera", "reason": None}
        )  # fmt: skip
        assert experiment is not None
        decision = {"outcome": "decided", "winner": "B", "by": "watcher", "reason": "B converts more", "at": "now"}
        done = ws.store.change_experiment(experiment.id, experiment.revision,
                                          {"status": "decided", "results": RESULTS, "decision": decision})  # fmt: skip
        assert done is not None
    return folder, rollout.id, experiment.id
