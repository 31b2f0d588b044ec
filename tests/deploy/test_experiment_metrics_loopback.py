"""An experiment of three versions set by flags, end to end through a real `andon serve` on loopback: the calls
are split among the arms, conversions are pushed to `POST /v1/metrics` keyed by the trace id the invoke
response returned, and the gateway's own ticker stops the experiment once the always-valid test knows the
winner (nothing here looks at it). SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.gateway_server import GatewayServer, StubProcess, write_workspace
from tests.support.rollouts import promote_stable

from andon.deploy.experiment import adhoc_config, adhoc_name, start_experiment
from andon.workspace import Workspace

VERSIONS = ["v1", "v2", "v3"]
WAIT_S = 120.0  # a bound for the server's ticker (every 5 s) to look; the test ends as soon as it has decided


@pytest.fixture
def stub() -> Iterator[str]:
    with StubProcess(echo=True) as process:
        yield process.base_url


def workspace(root: Path, stub: str, database_url: str) -> Path:
    provider = {"type": "openai", "api_key": "sk-stub", "model": "stub-model", "max_retries": 0, "base_url": stub}
    versions = {name: {"provider": "fast", "prompt": f"Menu {name}: {{{{ input }}}}"} for name in VERSIONS}
    write_workspace(root, features={"broken": None, "menu": {"versions": versions}}, gateway={"auth": False})
    config = json.loads((root / "andon.yaml").read_text(encoding="utf-8"))
    config["providers"] = {"fast": provider}
    (root / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    promote_stable(root, database_url)
    promote_stable(root, database_url, feature="echo")  # a feature with no experiment
    return root


def invoke(client: httpx.Client, server: GatewayServer, feature: str, user: int) -> dict[str, Any]:
    body = {"variables": {"input": f"bibimbap {user}", "text": "x"}, "user_id": f"u{user}"}
    response = client.post(f"{server.base_url}/v1/features/{feature}/invoke", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_conversions_pushed_by_trace_id_end_an_experiment_of_three_arms_by_itself(
    tmp_path: Path, database_url: str, stub: str
) -> None:
    root = workspace(tmp_path, stub, database_url)
    ws = Workspace.open(root, database_url=database_url)
    try:
        settings = adhoc_config(VERSIONS, metric="conversion", split="34/33/33", guardrails=["error_rate"],
                                min_samples=30)  # fmt: skip
        record = start_experiment(ws, "menu", adhoc_name(VERSIONS), settings=settings, actor="tests")
        with GatewayServer(root, database_url=database_url, promote=False) as server, httpx.Client() as client:
            served = {user: invoke(client, server, "menu", user) for user in range(300)}
            arms = {user: r["version_name"] for user, r in served.items()}
            assert set(arms.values()) == set(VERSIONS)
            metrics = f"{server.base_url}/v1/metrics"
            # A trace id the store does not have refuses the batch, naming the point.
            unknown = client.post(metrics, json={"points": [{"metric": "conversion", "value": 1, "trace_id": "nope"}]})
            assert unknown.status_code == 400 and "points[0].trace_id" in unknown.text, unknown.text
            # A trace served outside any experiment is a plain pushed value.
            outside = invoke(client, server, "echo", 1)["trace_id"]
            plain = client.post(metrics, json=[{"metric": "conversion", "value": 1, "trace_id": outside}])
            assert plain.status_code == 202 and plain.json() == {"accepted": 1, "experiment_events": 0}, plain.text
            # v3's users convert 6 in 10, v1's and v2's 1 in 10, counted within each arm (the arms come from a hash of
            # the experiment's random id, so counting by the user's own number would leave v1 and v2 apart by chance).
            rank = {user: sum(1 for u in arms if u < user and arms[u] == arms[user]) for user in arms}
            points = [{"metric": "conversion", "value": 1, "trace_id": served[user]["trace_id"]}
                      for user, version in arms.items() if rank[user] % 10 < (6 if version == "v3" else 1)]  # fmt: skip
            pushed = client.post(metrics, json={"points": points}, timeout=30)
            assert pushed.status_code == 202, pushed.text
            assert pushed.json() == {"accepted": len(points), "experiment_events": len(points)}
            deadline = time.monotonic() + WAIT_S
            while True:
                listed = client.get(f"{server.base_url}/v1/experiments", params={"feature": "menu"}, timeout=30)
                shown = listed.json()["experiments"][0]
                if shown["status"] != "running" or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert shown["id"] == record.id and shown["status"] == "decided", shown
            assert (shown["decision"]["winner"], shown["decision"]["metric"]) == ("C", "conversion")
            assert shown["decision"]["p_value"] <= 0.05 / 2 and shown["decision"]["low"] > 0
            assert shown["results"]["conversion"]["B"]["p_value"] > 0.05 / 2  # v2 converts as v1 does
            assert shown["results"]["conversion"]["C"]["n_treatment"] == sum(1 for v in arms.values() if v == "v3")
            # Decided: every unit is back on the live version.
            assert {invoke(client, server, "menu", user)["version_name"] for user in range(0, 300, 7)} == {"v1"}
    finally:
        ws.store.close()
