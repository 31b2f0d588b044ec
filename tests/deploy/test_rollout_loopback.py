"""Canary rollouts end to end on loopback: a real `andon serve` in a subprocess over the stub provider, traffic
over HTTP, the watcher ticked in this process. A canary on a slow stub is rolled back at its first step; an
equal canary is promoted, and a gateway killed mid-rollout comes back on the same step with the same users on
the same versions. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.gateway_server import GatewayServer, StubProcess, write_workspace
from tests.support.rollouts import promote_stable

from andon.store.rollouts import RolloutRecord
from andon.watch.incidents import list_incidents
from andon.watch.watcher import Watcher
from andon.workspace import Workspace

# The last step waits for more canary calls than the restart check sends, so the server's own ticker cannot
# finish the rollout while the test compares assignments before and after the restart.
STEPS = [{"weight": 30, "calls": 25}, {"weight": 60, "calls": 200}]
METRICS = [
    {"metric": "error_rate", "tolerance": 0.05, "weight": 2},
    {"metric": "latency_ms", "tolerance": 0.5, "weight": 1},
]


@pytest.fixture
def stubs() -> Iterator[tuple[str, str]]:
    """A fast stub and one that answers 150 ms late (the slow canary's provider)."""
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
        "rollout": {"sticky": "user", "steps": STEPS, "metrics": METRICS},
    }
    write_workspace(root, features={"echo": None, "broken": None, "menu": feature}, gateway={"auth": False})
    import json

    config = json.loads((root / "andon.yaml").read_text(encoding="utf-8"))
    config["providers"] = {"fast": {**provider, "base_url": fast}, "slow": {**provider, "base_url": slow}}
    (root / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    promote_stable(root, database_url)
    return root


def call(client: httpx.Client, server: GatewayServer, user: int) -> str:
    body: dict[str, Any] = {"variables": {"input": f"bibimbap {user}"}, "user_id": f"u{user}"}
    response = client.post(f"{server.base_url}/v1/features/menu/invoke", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["version_name"])


def traffic(client: httpx.Client, server: GatewayServer, users: range) -> dict[int, str]:
    return {user: call(client, server, user) for user in users}


def tick(ws: Workspace) -> RolloutRecord:
    """Advance the rollouts as the watcher does (the server may hold the lease and do it itself) and reread."""

    async def once() -> None:
        async with Watcher(ws, monitors={}) as watcher:
            await watcher.tick_rollouts()

    asyncio.run(once())
    return ws.store.list_rollouts("menu")[0]


def start(root: Path, database_url: str, version: str) -> Workspace:
    from andon.deploy.rollout import start_rollout

    ws = Workspace.open(root, database_url=database_url)
    start_rollout(ws, "menu", version, force=True, reason="loopback test", actor="tests")
    return ws


def test_a_slow_canary_is_rolled_back_at_its_first_step(
    tmp_path: Path, database_url: str, stubs: tuple[str, str]
) -> None:
    root = workspace(tmp_path, *stubs, database_url)
    ws = start(root, database_url, "v3")
    try:
        with GatewayServer(root, database_url=database_url, promote=False) as server, httpx.Client() as client:
            for batch in range(30):
                traffic(client, server, range(batch * 40, batch * 40 + 40))
                record = tick(ws)
                if record.status != "running":
                    break
            assert (record.status, record.step, record.weight) == ("degraded", 0, 0)
            analysis = next(e for e in ws.store.rollout_events(record.id) if e.kind == "analysis")
            by_metric = {m["metric"]: m["classification"] for m in analysis.data["metrics"]}
            assert by_metric == {"error_rate": "Pass", "latency_ms": "High"}  # worse on one metric only
            (incident,) = list_incidents(ws, feature="menu")
            assert "mitigated" in incident.stages
            assert set(traffic(client, server, range(0, 120)).values()) == {"v1"}
    finally:
        ws.store.close()


def test_an_equal_canary_survives_a_gateway_restart_and_is_promoted(
    tmp_path: Path, database_url: str, stubs: tuple[str, str]
) -> None:
    root = workspace(tmp_path, *stubs, database_url)
    ws = start(root, database_url, "v2")
    users = range(0, 100)
    try:
        with httpx.Client() as client:
            server = GatewayServer(root, database_url=database_url, promote=False).start()
            try:
                for _batch in range(30):
                    before = traffic(client, server, users)
                    record = tick(ws)
                    if record.step == 1 or record.status != "running":
                        break
                assert (record.status, record.step, record.weight) == ("running", 1, 6000)
                before = traffic(client, server, users)
                assert set(before.values()) == {"v1", "v2"}
            finally:
                server.kill()  # SIGKILL mid-rollout: nothing is written on the way down
            with GatewayServer(root, database_url=database_url, promote=False) as again:
                after = traffic(client, again, users)
                assert after == before  # the same users on the same versions
                assert ws.store.list_rollouts("menu")[0].step == 1
                # The killed gateway's rollout lease stays taken until it expires (60 s): nobody may advance the
                # step before then, so the traffic goes on until the rollout ends, not for a fixed number of batches.
                deadline = time.monotonic() + 300
                batch = 0
                while time.monotonic() < deadline:
                    traffic(client, again, range(batch * 40, batch * 40 + 40))
                    batch += 1
                    record = tick(ws)
                    if record.status != "running":
                        break
                assert record.status == "promoted"
                live = ws.store.latest_live("menu")
                assert live is not None and live.version_name == "v2" and record.id in (live.reason or "")
                assert set(traffic(client, again, range(0, 60)).values()) == {"v2"}
    finally:
        ws.store.close()
