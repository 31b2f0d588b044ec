"""Loopback end to end: a real `andon serve` on the stub provider, traffic through it, the stub's outputs shift
at t0 (the reject rate jumps) or it starts failing; the watcher fires, the feature is stopped, calls now go to
the review queue, and the incident has its detected and mitigated stages.

The watcher runs in this process and is ticked at whole-second boundaries right after each batch, so the test
waits about a second per batch instead of minutes of real monitor intervals.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.stub import Scripted, StubServer
from tests.support.gateway_server import GatewayServer
from tests.support.receivers import HttpReceiver, free_port
from tests.watch.watch_support import RULES, actors_of, incident_rows, stages_of

from andon import deploy
from andon.watch.incidents import get_incident as inc_get
from andon.watch.notify.webhook import verify_signature
from andon.workspace import Workspace

CALLS = 30
ROOT = Path(__file__).resolve().parents[2]


def workspace(root: Path, stub_url: str, monitor: dict[str, Any], *, notifiers: dict[str, Any] | None = None) -> None:
    (root / "watch_rules.py").write_text(RULES, encoding="utf-8")
    config = {
        "andon": 1,
        "name": "watch-e2e",
        "providers": {
            "stub": {
                "type": "openai",
                "base_url": stub_url,
                "api_key": "sk-stub",
                "model": "stub-model",
                "max_retries": 0,
            }
        },
        "features": {
            "menu": {"versions": {"v1": {"provider": "stub", "prompt": "{{ input }}", "params": {"json_mode": True}}}}
        },
        "monitors": {
            "guard": {
                "feature": "menu",
                "interval": 1,
                "window": 1,
                "min_calls": 10,
                "for": 1,
                "runbook": "https://wiki.example/menu",
                "owner": "menu-team",
                **monitor,
            }
        },
        "gateway": {"auth": False},
        "notifiers": notifiers or {},
    }
    (root / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")


REJECTS = {
    "metric": "label_share",
    "source": {"path": "decision", "label": "reject"},
    "detector": {"type": "proportion", "warmup": 2, "baseline_windows": 10, "min_baseline_trials": 40},
}
ERRORS = {"metric": "error_rate", "detector": {"type": "threshold", "fail_above": 0.5}}


async def until_next_second() -> datetime:
    """Sleep to the next whole second of the wall clock and return it (a tick boundary of a 1 s monitor)."""
    now = time.time()
    boundary = float(int(now) + 1)
    await asyncio.sleep(boundary - now + 0.01)
    return datetime.fromtimestamp(boundary, UTC)


async def batch(client: httpx.AsyncClient, rejects: int) -> list[httpx.Response]:
    decisions = ["reject"] * rejects + ["approve"] * (CALLS - rejects)
    return await asyncio.gather(
        *(
            client.post("/v1/features/menu/invoke", json={"variables": {"input": json.dumps({"decision": d})}})
            for d in decisions
        )
    )


@pytest.mark.parametrize("fault", ["label_shift", "provider_errors"])
async def test_a_fault_at_t0_stops_the_feature_and_opens_the_incident(tmp_path: Path, fault: str) -> None:
    from andon.watch.watcher import Watcher

    async with StubServer(echo=True) as stub:
        workspace(tmp_path, stub.base_url, REJECTS if fault == "label_shift" else ERRORS)
        with GatewayServer(tmp_path) as server, Workspace.open(tmp_path) as ws:
            watcher = Watcher(ws, owner="e2e")
            fired_at: int | None = None
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
                await until_next_second()
                for index in range(12):
                    faulty = index >= 5
                    if faulty and fault == "provider_errors":
                        stub.program(*[Scripted(status=500)] * CALLS)
                    answers = await batch(client, 18 if faulty and fault == "label_shift" else 3)
                    assert all(a.status_code in (200, 202) for a in answers), answers[0].text
                    done = await watcher.tick(await until_next_second())
                    if any(e.step.decision == "act" for e in done):
                        fired_at = index
                        break
                assert fired_at is not None and fired_at >= 5, "it fired on normal traffic or never"
                asked = stub.stats()["requests"]
                after = await client.post("/v1/features/menu/invoke", json={"variables": {"input": "{}"}})
            await watcher.aclose()
            body = after.json()
            assert after.status_code == 202 and body["route"] == "human" and body["status"] == "queued"
            assert body["review_id"] and stub.stats()["requests"] == asked  # the AI is no longer asked
            state = deploy.live_version(ws, "menu")
            assert state.stopped and "guard" in (state.stop_reason or "")
            (event,) = [e for e in deploy.state_events(ws, "menu") if e.kind == "stopped"]
            assert event.actor == "monitor:guard"
            (incident,) = incident_rows(ws)
            assert stages_of(incident) == ["detected", "mitigated"]
            assert incident.monitor == "guard" and incident.runbook == "https://wiki.example/menu"
            points = ws.store.watch_points("guard")
            assert [p.decision for p in points].count("act") == 1
            assert all(p.state != "fail" for p in points[:5])  # nothing fired before t0


def test_serve_watch_acts_on_values_pushed_to_the_gateway(tmp_path: Path) -> None:
    (tmp_path / "watch_rules.py").write_text(RULES, encoding="utf-8")
    hook = HttpReceiver()
    config = {
        "notifiers": {"pager": {"type": "webhook", "url": f"{hook.url}/andon", "secret": "whsec-serve-0123456789"}},
        "features": {"menu": {"versions": {"v1": {"python": "watch_rules:decide"}}}},
        "monitors": {"orders": {"feature": "menu", "metric": "orders", "source": "pushed", "interval": 1, "window": 1,
                                "detector": {"type": "threshold", "fail_below": 1}}},
        "gateway": {"auth": False},
    }  # fmt: skip
    (tmp_path / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    with (
        hook,
        GatewayServer(tmp_path, extra_args=["--watch"]) as server,
        Workspace.open(tmp_path, database_url=server.database_url) as ws,
        httpx.Client(base_url=server.base_url, timeout=30) as client,
    ):
        now = time.time()
        points = [{"monitor": "orders", "ts": now + i / 4, "value": 0} for i in range(-8, 240)]  # orders stopped
        assert client.post("/v1/metrics", json={"points": points}).status_code == 202
        deadline = time.monotonic() + 60
        mitigated = lambda: any("mitigated" in r.stages for r in incident_rows(ws))  # noqa: E731
        while time.monotonic() < deadline and not mitigated():
            time.sleep(0.2)
        answer = client.post("/v1/features/menu/invoke", json={"variables": {"decision": "approve"}})
        while time.monotonic() < deadline and len(hook.requests) < 3:
            time.sleep(0.2)  # the server's watcher loop delivers the outbox; the first delivery announces
        logs = server.logs()
        (incident,) = incident_rows(ws)
    assert answer.status_code == 202 and answer.json()["route"] == "human", logs[-3000:]
    assert incident.monitor == "orders" and stages_of(incident) == ["detected", "mitigated", "announced"]
    assert sorted(events(hook)) == ["announced", "detected", "mitigated"], logs[-3000:]
    assert actors_of(incident)["announced"] == "notifier:pager"


# --- the whole story with notifications -----------------------------------------------------------------

SECRET = "whsec-loopback-0123456789"
LATER = [  # the stages a person moves the incident through, with what each needs, by the CLI (`announced` comes
    # by itself with the first notification delivered)
    ("confirmed", ["--real", "--cause", "the provider started rejecting every other menu"]),
    ("impact_assessed", []),
    ("decided", ["--decision", "stay_stopped"]),
    ("closed", []),
]


def andon_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ANDON_DATABASE_URL", "ANDON_WORKSPACE")}
    env |= {"PYTHONPATH": str(ROOT / "src"), "ANDON_LANG": "en"}
    command = [sys.executable, "-m", "andon", "--workspace", str(root), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=root, timeout=120, check=False)


async def until(check: Any, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.1)


def events(hook: HttpReceiver) -> list[str]:
    return [r.headers["x-andon-event"].removeprefix("incident.") for r in hook.requests]


@pytest.mark.parametrize("webhook_receiver", ["up", "down_then_up"])
async def test_the_story_notifies_each_stage_once(tmp_path: Path, webhook_receiver: str) -> None:
    from andon.watch.watcher import Watcher

    slack, hook = HttpReceiver(), HttpReceiver(port=free_port())
    slack.start()
    if webhook_receiver == "up":
        hook.start()
    retry = {"backoff_base_s": 0.2, "backoff_max_s": 1.0}
    notifiers = {
        "team-slack": {"type": "slack", "webhook_url": f"{slack.url}/services/T0/B0/x", **retry},
        "pager": {"type": "webhook", "url": f"{hook.url}/andon", "secret": SECRET, **retry},
    }
    try:
        async with StubServer(echo=True) as stub:
            workspace(tmp_path, stub.base_url, REJECTS, notifiers=notifiers)
            with GatewayServer(tmp_path) as server, Workspace.open(tmp_path) as ws:
                watcher = Watcher(ws, owner="e2e")
                async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
                    await until_next_second()
                    for index in range(12):
                        await batch(client, 18 if index >= 5 else 3)  # t0 = batch 5: the reject rate jumps
                        done = await watcher.tick(await until_next_second())
                        if any(e.step.decision == "act" for e in done):
                            break
                    queued = await client.post("/v1/features/menu/invoke", json={"variables": {"input": "{}"}})
                assert queued.status_code == 202 and queued.json()["route"] == "human"
                (incident,) = incident_rows(ws)
                assert stages_of(incident) == ["detected", "mitigated"]
                stop = asyncio.Event()
                running = asyncio.create_task(watcher.run(stop))  # the watcher loop delivers the outbox
                try:
                    # detected and mitigated, then announced: their first delivery announced the incident
                    await until(lambda: len(slack.requests) == 3)
                    if webhook_receiver == "down_then_up":
                        await until(lambda: all(r.attempts >= 1 for r in ws.store.outbox(status="pending")))
                        assert hook.requests == [] and len(ws.store.outbox(status="pending")) == 3
                        hook.start()  # the receiver comes back: the outbox delivers what it kept
                    await until(lambda: len(hook.requests) == 3)
                    # Announced by whichever receiver had it first: only slack while the webhook is down.
                    first = {"up": ("notifier:team-slack", "notifier:pager"), "down_then_up": ("notifier:team-slack",)}
                    assert inc_get(ws, incident.id).actors["announced"] in first[webhook_receiver]
                    for count, (stage, extra) in enumerate(LATER, start=4):
                        answer = await asyncio.to_thread(andon_cli, tmp_path, "incident", "advance", incident.id,
                                                         stage, *extra, "--actor", "jimin")  # fmt: skip
                        assert answer.returncode == 0, answer.stdout + answer.stderr
                        await until(lambda n=count: len(slack.requests) == n and len(hook.requests) == n)  # type: ignore[misc]
                finally:
                    stop.set()
                    await running
                leftover = await asyncio.to_thread(andon_cli, tmp_path, "incident", "deliver", "--json")
                assert json.loads(leftover.stdout) == {"delivered": 0, "pending": 0}
    finally:
        slack.stop()
        hook.stop()
    stages = ["detected", "mitigated", "announced"] + [stage for stage, _ in LATER]
    # Exactly one message per stage (detected and mitigated are due together and may arrive in either order).
    assert sorted(events(hook), key=stages.index) == stages
    for request in hook.requests:
        headers = request.headers
        assert verify_signature(SECRET, headers["x-andon-timestamp"], request.body, headers["x-andon-signature"])
        assert request.json()["incident_id"] == incident.id
    assert len({r.headers["x-andon-delivery"] for r in hook.requests}) == len(stages)
    assert len(slack.requests) == len(stages)
    assert all("blocks" in r.json() for r in slack.requests)
