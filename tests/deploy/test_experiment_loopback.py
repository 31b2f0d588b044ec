"""A/B experiments end to end on loopback: a real `andon serve` over the stub provider, calls and outcomes over
HTTP. Units stick to their arm and the traces say which; conversions pushed by unit or by trace decide a
winner by the always-valid test; a slower arm is stopped by its latency guardrail; then every unit is back
on the live version. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.gateway_server import GatewayServer, StubProcess, write_workspace
from tests.support.rollouts import promote_stable

from andon.deploy.experiment import look_all, start_experiment
from andon.store.experiments import ExperimentRecord
from andon.workspace import Workspace

AB = {
    "unit": "user",
    "arms": [{"version": "v1", "weight": 50}, {"version": "v2", "weight": 50}],
    "metric": "conversion",
    "guardrails": ["error_rate"],
    "min_samples": 40,
}
SLOW = {
    "unit": "user",
    "arms": [{"version": "v1", "weight": 50}, {"version": "v3", "weight": 50}],
    "metric": "conversion",
    "guardrails": ["latency_ms"],
    "min_samples": 30,
}


@pytest.fixture
def stubs() -> Iterator[tuple[str, str]]:
    with StubProcess(echo=True) as fast, StubProcess(echo=True, delay_ms=150) as slow:
        yield fast.base_url, slow.base_url


def workspace(root: Path, fast: str, slow: str, database_url: str) -> Path:
    provider = {"type": "openai", "api_key": "sk-stub", "model": "stub-model", "max_retries": 0}
    feature = {
        "versions": {
            "v1": {"provider": "fast", "prompt": "{{ input }}"},
            "v2": {"provider": "fast", "prompt": "Menu: {{ input }}"},
            "v3": {"provider": "slow", "prompt": "{{ input }}"},
        },
        "experiments": {"ab": AB, "slow": SLOW},
    }
    write_workspace(root, features={"echo": None, "broken": None, "menu": feature}, gateway={"auth": False})
    config = json.loads((root / "andon.yaml").read_text(encoding="utf-8"))
    config["providers"] = {"fast": {**provider, "base_url": fast}, "slow": {**provider, "base_url": slow}}
    (root / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    promote_stable(root, database_url)
    return root


def call(client: httpx.Client, server: GatewayServer, user: int) -> dict[str, Any]:
    body = {"variables": {"input": f"bibimbap {user}"}, "user_id": f"u{user}"}
    response = client.post(f"{server.base_url}/v1/features/menu/invoke", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def settle(ws: Workspace) -> ExperimentRecord:
    """Look as the watcher does (the server's own ticker may have looked already) and reread."""
    look_all(ws)
    return ws.store.list_experiments("menu")[0]


def test_conversions_pick_the_winner_and_units_stick(tmp_path: Path, database_url: str, stubs: tuple[str, str]) -> None:
    root = workspace(tmp_path, *stubs, database_url)
    ws = Workspace.open(root, database_url=database_url)
    try:
        record = start_experiment(ws, "menu", "ab", actor="tests", reason="loopback")
        with GatewayServer(root, database_url=database_url, promote=False) as server, httpx.Client() as client:
            served = {user: call(client, server, user) for user in range(240)}
            again = {user: call(client, server, user)["version_name"] for user in range(0, 240, 7)}
            assert all(served[user]["version_name"] == name for user, name in again.items())  # sticky
            arms = {user: r["version_name"] for user, r in served.items()}
            assert 60 < sum(1 for v in arms.values() if v == "v2") < 180
            trace = ws.store.get_trace(served[0]["trace_id"])
            assert trace["tags"]["andon.experiment"] == record.id
            assert trace["tags"]["andon.arm"] == ("B" if arms[0] == "v2" else "A")
            # v2's users convert 3 in 5, v1's 1 in 10; half the outcomes name the unit, half the trace.
            events = []
            for user, version in arms.items():
                if user % 10 < (6 if version == "v2" else 1):
                    key = {"unit": f"u{user}"} if user % 2 else {"trace_id": served[user]["trace_id"]}
                    events.append({"name": "conversion", **key})
            url = f"{server.base_url}/v1/experiments/{record.id}/events"
            pushed = client.post(url, json={"events": events}, timeout=30)
            assert pushed.status_code == 202 and pushed.json() == {"accepted": len(events)}, pushed.text
            bad = client.post(url, json={"events": [{"name": "conversion"}]}, timeout=30)
            assert bad.status_code == 400
            done = settle(ws)
            assert done.status == "decided" and done.decision is not None
            assert (done.decision["winner"], done.decision["metric"]) == ("B", "conversion")
            assert done.decision["p_value"] <= 0.05 and done.decision["low"] > 0
            assert done.results["error_rate"]["B"]["p_value"] > 0.05
            listed = client.get(f"{server.base_url}/v1/experiments", params={"feature": "menu"}, timeout=30).json()
            assert listed["experiments"][0]["decision"]["winner"] == "B"
            # Decided: the experiment no longer holds the traffic; every unit is on the live version.
            assert {call(client, server, user)["version_name"] for user in range(0, 240, 5)} == {"v1"}
    finally:
        ws.store.close()


def test_a_slower_arm_is_stopped_by_its_latency_guardrail(
    tmp_path: Path, database_url: str, stubs: tuple[str, str]
) -> None:
    root = workspace(tmp_path, *stubs, database_url)
    ws = Workspace.open(root, database_url=database_url)
    try:
        start_experiment(ws, "menu", "slow", actor="tests", reason="loopback")
        with GatewayServer(root, database_url=database_url, promote=False) as server, httpx.Client() as client:
            for batch in range(8):
                for user in range(batch * 30, batch * 30 + 30):
                    call(client, server, user)
                done = settle(ws)
                if done.status != "running":
                    break
            assert done.status == "guardrail" and done.decision is not None
            assert (done.decision["metric"], done.decision["arm"]) == ("latency_ms", "B")
            assert done.decision["low"] > 0  # B is slower by a margin the test is sure of
            assert {call(client, server, user)["version_name"] for user in range(0, 60, 3)} == {"v1"}
    finally:
        ws.store.close()
