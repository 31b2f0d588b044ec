"""A/B experiments in process: one per feature (and not beside a rollout), outcomes attributed to the arm the
gateway served, a stop by hand, and the cord ending an experiment. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.support.rollouts import promote_stable, write_rollout_workspace

from andon.deploy import rollout as rollouts
from andon.deploy import stop_feature
from andon.deploy.experiment import (
    ExperimentError,
    OutcomeIn,
    look,
    look_all,
    record_events,
    start_experiment,
    stop_experiment,
)
from andon.errors import ConfigError
from andon.gateway.service import Gateway
from andon.gateway.types import Caller
from andon.workspace import Workspace

EXPERIMENT = {
    "unit": "user",
    "arms": [{"version": "v1", "weight": 30}, {"version": "v2", "weight": 70}],
    "metric": {"metric": "value", "event": "revenue"},
    "guardrails": ["error_rate"],
    "min_samples": 20,
}


@pytest.fixture
async def opened(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[Workspace, Gateway]]:
    write_rollout_workspace(tmp_path, [{"weight": 20, "calls": 25}])
    path = tmp_path / "andon.yaml"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["features"]["menu"]["experiments"] = {"price": EXPERIMENT}
    path.write_text(json.dumps(config), encoding="utf-8")
    promote_stable(tmp_path, database_url)
    sys.path.insert(0, str(tmp_path))  # the python provider imports ro_rules from the workspace
    ws = Workspace.open(tmp_path, database_url=database_url)
    gateway = Gateway(ws, prune_interval_s=None)
    await gateway.start()
    yield ws, gateway
    await gateway.stop()
    ws.store.close()
    sys.path.remove(str(tmp_path))
    sys.modules.pop("ro_rules", None)


async def test_one_experiment_per_feature_and_none_beside_a_rollout(opened: tuple[Workspace, Gateway]) -> None:
    ws, _gateway = opened
    record = start_experiment(ws, "menu", "price", actor="tests")
    with pytest.raises(ExperimentError) as twice:
        start_experiment(ws, "menu", "price", actor="tests")
    assert record.id in twice.value.message
    with pytest.raises(rollouts.RolloutError) as blocked:
        rollouts.start_rollout(ws, "menu", "v2", force=True, reason="t", actor="tests")
    assert record.id in blocked.value.message
    stop_experiment(ws, "menu", reason="done")
    with pytest.raises(ConfigError) as unknown:
        start_experiment(ws, "menu", "nope")
    assert "price" in str(unknown.value)
    rollouts.start_rollout(ws, "menu", "v2", force=True, reason="t", actor="tests")
    with pytest.raises(ExperimentError) as beside:
        start_experiment(ws, "menu", "price")
    assert "rollout" in beside.value.message


async def test_outcomes_go_to_the_arm_the_gateway_served(opened: tuple[Workspace, Gateway]) -> None:
    ws, gateway = opened
    record = start_experiment(ws, "menu", "price", actor="tests")
    served = {}
    for i in range(200):
        result = await gateway.invoke("menu", {"text": f"menu {i}"}, Caller(user_id=f"u{i}"))
        served[f"u{i}"] = (result.version_name, result.trace_id)
    assert 30 < sum(1 for v, _ in served.values() if v == "v1") < 90  # 30 % of 200, within reason
    # v2 users spend 5 more; a unit named by its trace counts for the same unit.
    outcomes = [OutcomeIn("revenue", 15.0 if v == "v2" else 10.0 + (i % 3), unit=u if i % 2 else None,
                          trace_id=None if i % 2 else t) for i, (u, (v, t)) in enumerate(served.items())]  # fmt: skip
    assert record_events(ws, record.id, outcomes) == 200
    arms = {u: arm for u, arm, _ in ws.store.experiment_unit_sums(record.id, "revenue")}
    assert all(arms[u] == (0 if v == "v1" else 1) for u, (v, _) in served.items())
    seen = look(ws, record)
    assert seen.units == {"A": sum(1 for v, _ in served.values() if v == "v1"), "B": sum(
        1 for v, _ in served.values() if v == "v2")}  # fmt: skip
    assert seen.decision is not None and seen.decision["winner"] == "B"
    assert seen.results["value:revenue"]["B"]["estimate"] == pytest.approx(4.0, abs=0.5)
    stray = (await gateway.invoke("menu", {"text": "after"}, Caller(user_id="late"))).trace_id
    with pytest.raises(ConfigError):
        record_events(ws, record.id, [OutcomeIn("revenue", 1.0, trace_id=stray)])  # served after it ended


async def test_a_stop_by_hand_and_the_cord_end_an_experiment(opened: tuple[Workspace, Gateway]) -> None:
    ws, gateway = opened
    first = start_experiment(ws, "menu", "price", actor="tests")
    stopped = stop_experiment(ws, "menu", actor="tests", reason="enough")
    assert (stopped.record.status, stopped.record.active) == ("stopped", False)
    assert (await gateway.invoke("menu", {"text": "x"}, Caller(user_id="u1"))).version_name == "v1"
    second = start_experiment(ws, "menu", "price", actor="tests")
    assert second.id != first.id
    stop_feature(ws, "menu", reason="incident drill", actor="tests")
    (ended,) = look_all(ws)
    assert ended.record.status == "stopped" and ended.decision is not None and ended.decision["by"] == "cord"
