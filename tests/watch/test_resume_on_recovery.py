"""`resume: on_recovery` triggers: while its monitor holds the feature stopped, a share of the calls goes to the
live version as shadow probes (recorded, never served), so the monitor keeps measuring it and resumes the feature
once the provider has recovered — through a real `andon serve` on the stub provider, one resume event.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from bench.stub import Scripted, StubServer
from tests.support.gateway_server import GatewayServer
from tests.watch.test_watcher_e2e import CALLS, until_next_second, workspace
from tests.watch.watch_support import write_workspace

from andon import deploy
from andon.config.loader import load_config
from andon.watch.monitors import probe_share
from andon.workspace import Workspace

RECOVERING = {
    "metric": "error_rate",
    "detector": {"type": "threshold", "fail_above": 0.5},
    "min_calls": 2,
    "resume": {"when": "on_recovery", "for": 2, "probe": 0.2},
}


def _with_fast_circuit(root: Path) -> None:
    """The provider's circuit half-opens after a second, so a probe finds the recovered provider at once."""
    path = root / "andon.yaml"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["gateway"] |= {"circuit_reset_s": 0.5}
    path.write_text(json.dumps(config), encoding="utf-8")


async def _batch(client: httpx.AsyncClient) -> list[int]:
    answers = await asyncio.gather(
        *(client.post("/v1/features/menu/invoke", json={"variables": {"input": "{}"}}) for _ in range(CALLS))
    )
    return [a.status_code for a in answers]


async def test_the_monitor_resumes_the_feature_once_the_probes_recover(tmp_path: Path) -> None:
    from andon.watch.watcher import Watcher

    decisions: list[str | None] = []
    phases: list[str] = []  # per batch: served by the AI, or stopped (with the provider failing, or recovered)
    async with StubServer(echo=True) as stub:
        workspace(tmp_path, stub.base_url, RECOVERING)
        _with_fast_circuit(tmp_path)
        with Workspace.open(tmp_path) as ws:
            with GatewayServer(tmp_path) as server:
                watcher = Watcher(ws, owner="e2e")
                async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
                    await until_next_second()
                    for index in range(16):
                        stopped = deploy.live_version(ws, "menu").stopped
                        if index == 2:
                            stub.program(*[Scripted(status=500)] * 10_000)  # the provider starts failing
                        if stopped and phases.count("stopped failing") == 3:
                            stub.reset()  # ... and recovers after three stopped seconds of failing probes
                        phases.append(("stopped " + ("failing" if stub.scripted_left else "recovered"))
                                      if stopped else "serving")  # fmt: skip
                        assert all(code in (200, 202) for code in await _batch(client))
                        done = await watcher.tick(await until_next_second())
                        decisions += [e.step.decision for e in done]
                        if "resume" in decisions:
                            break
                    after = await client.post("/v1/features/menu/invoke", json={"variables": {"input": "{}"}})
                    for _ in range(2):  # the monitor goes on: ok points, no second resume
                        await _batch(client)
                        decisions += [e.step.decision for e in await watcher.tick(await until_next_second())]
                await watcher.aclose()
            # The server has stopped: every probe it started has its trace committed.
            events = deploy.state_events(ws, "menu")
            pulls = ws.store.cord_pulls(feature="menu")
            probes = ws.store.list_traces("menu", route="probe", limit=10_000)
            reviews = ws.store.list_review_items("menu", limit=10_000)
            (incident,) = ws.store.list_incidents(feature="menu")
            timeline = ws.store.incident_events(incident.id)
    assert decisions.count("act") == 1 and decisions.count("resume") == 1, (decisions, phases)
    assert phases.count("stopped failing") == 3  # it stayed stopped while the probes failed
    assert [(e.kind, e.actor) for e in events] == [("stopped", "monitor:guard"), ("resumed", "monitor:guard")]
    assert sorted((p.action, p.status, p.actor) for p in pulls) == [
        ("resume", "done", "monitor:guard"),
        ("stop", "done", "monitor:guard"),
    ]
    cords = [(e.data.get("action"), e.actor) for e in timeline if e.kind == "cord"]
    assert cords == [("stop", "monitor:guard"), ("resume", "monitor:guard")]  # the incident shows the resume
    body = after.json()
    assert after.status_code == 200 and (body["route"], body["version_name"]) == ("ai", "v1")
    # Probes: of the live version, a fifth of the stopped calls, failing and then answering, never served.
    stopped_calls = sum(phase.startswith("stopped") for phase in phases) * CALLS
    assert len(probes) == stopped_calls // 5, (len(probes), stopped_calls)
    assert {p["version_name"] for p in probes} == {"v1"} and {p["status"] for p in probes} == {"ok", "error"}
    probed = {p["id"] for p in probes}
    assert not any(r["trace_id"] in probed for r in reviews)  # the fallback (the queue) answered those calls


def test_only_a_recovering_traces_monitor_holding_the_feature_asks_for_probes(tmp_path: Path) -> None:
    monitors = {
        "errors": {"feature": "menu", "metric": "error_rate", "detector": {"type": "threshold", "fail_above": 0.5},
                   "resume": {"when": "on_recovery", "for": "2m"}},
        "manual": {"feature": "menu", "metric": "error_rate", "detector": {"type": "threshold", "fail_above": 0.5}},
        "orders": {"feature": "menu", "metric": "orders", "source": "pushed", "resume": {"when": "on_recovery",
                   "for": 3}, "detector": {"type": "threshold", "fail_below": 1}},  # pushed values flow anyway
        "shadowed": {"feature": "menu", "metric": "error_rate", "mode": "shadow", "detector": {"type": "threshold",
                     "fail_above": 0.5}, "resume": {"when": "on_recovery", "for": 3, "probe": 0.3}},
    }  # fmt: skip
    search = {"search": {"versions": {"v1": {"python": "watch_rules:decide"}}}}
    config = load_config(write_workspace(tmp_path, monitors, features=search) / "andon.yaml").config
    assert probe_share(config, "menu", "monitor:errors") == 0.1  # the documented default
    assert probe_share(config, "search", "monitor:errors") == 0.0  # not its feature
    for actor in ("monitor:manual", "monitor:orders", "monitor:shadowed", "jimin", "alertmanager", None):
        assert probe_share(config, "menu", actor) == 0.0, actor
