"""``andon demo --watch``: the menu feature served on loopback, simulated traffic through it, the reject rate
jumping at t0, the monitor firing, the cord stopping the feature, calls going to the review queue, the incident
moved through its stages and each stage's signed notification arriving at a loopback receiver."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from andon import deploy
from andon.cli._common import console
from andon.demo import simulated
from andon.demo.receiver import WebhookReceiver
from andon.messages import t
from andon.store.deploy import STOP_KINDS
from andon.watch import incidents as inc
from andon.watch.watcher import Watcher
from andon.workspace import Workspace

FEATURE = "menu-review"
MONITOR = "reject-rate"
CALLS = 30  # calls per second of simulated traffic
NORMAL_REJECTS, SHIFTED_REJECTS = 3, 18  # 10 % of menus break a rule, then 60 % (a wave of spam menus)
SHIFT_AT = 6  # the batch at which the traffic shifts (t0)
MAX_BATCHES = 20
SECRET = "andon-demo-webhook-secret"
LATER_STAGES = ("confirmed", "impact_assessed", "decided", "closed")  # `announced` comes with the first delivery


def write_watch_workspace(root: Path, language: str, receiver_url: str) -> Path:
    """``root/andon.yaml``: the menu feature on the simulated model, one reject-rate monitor, one webhook notifier."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(root / ".andon", ignore_errors=True)  # the story starts from nothing each time it is told
    (root / ".andon").mkdir()
    config = {
        "andon": 1,
        "name": "menu-review-watch-demo",
        "language": language,
        "features": {
            FEATURE: {
                "description": "Menu review on SIMULATED traffic: a stand-in for the model that runs the text rules.",
                "versions": {"simulated": {"python": "andon.demo.simulated:review"}},
            }
        },
        "monitors": {
            MONITOR: {
                "feature": FEATURE,
                "metric": "label_share",
                "source": {"path": "decision", "label": "reject"},
                "interval": 1,  # demo speed: a real monitor looks every minute or so
                "window": 1,
                "min_calls": 10,
                "for": 1,
                "detector": {"type": "proportion", "warmup": 2, "baseline_windows": 10, "min_baseline_trials": 40},
                "actions": ["stop"],
                "runbook": "https://wiki.example/runbooks/menu-review",
                "owner": "menu-team",
            }
        },
        "notifiers": {"loopback": {"type": "webhook", "url": receiver_url, "secret": SECRET, "backoff_base_s": 0.2}},
        "gateway": {"auth": False},
    }
    (root / "andon.yaml").write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    return root


def run_watch_demo(path: Path, language: str) -> None:
    """Tell the watch story in ``path/watch`` (rebuilt each time); prints every step."""
    started = time.monotonic()
    asyncio.run(_story(path / "watch", language))
    console.print(t("watchint.demo.done", seconds=f"{time.monotonic() - started:.0f}"))


async def _story(root: Path, language: str) -> None:
    import uvicorn

    from andon.gateway.app import create_app

    async with WebhookReceiver(SECRET) as receiver:
        write_watch_workspace(root, language, receiver.url)
        with Workspace.open(root) as ws:
            deploy.promote(ws, FEATURE, "simulated", force=True, actor="demo", reason=t("watchint.demo.reason"))
            server = uvicorn.Server(uvicorn.Config(create_app(ws), host="127.0.0.1", port=0, log_level="warning"))
            serving = asyncio.create_task(server.serve())
            while not server.started:
                await asyncio.sleep(0.02)
            port = server.servers[0].sockets[0].getsockname()[1]
            url = f"http://127.0.0.1:{port}"
            console.print()
            console.print(t("watchint.demo.start", url=url), markup=False, highlight=False)
            console.print(t("watchint.demo.monitor", monitor=MONITOR, feature=FEATURE, receiver=receiver.url),
                          markup=False, highlight=False)  # fmt: skip
            try:
                async with httpx.AsyncClient(base_url=url, timeout=30) as client, Watcher(ws, owner="demo") as watcher:
                    await _traffic_until_stopped(ws, client, watcher)
                    await _calls_after_the_stop(ws, client)
                    await _incident(ws, watcher, receiver)
            finally:
                server.should_exit = True
                await serving


async def _invoke(client: httpx.AsyncClient, menus: list[dict[str, str]]) -> list[dict[str, Any]]:
    answers = await asyncio.gather(
        *(client.post(f"/v1/features/{FEATURE}/invoke", json={"variables": m}) for m in menus)
    )
    return [a.json() for a in answers]


async def _next_second() -> datetime:
    """Sleep to the next whole second (a 1 s monitor's tick boundary) and return it."""
    now = time.time()
    await asyncio.sleep(int(now) + 1 - now + 0.01)
    return datetime.fromtimestamp(int(now) + 1, UTC)


async def _traffic_until_stopped(ws: Workspace, client: httpx.AsyncClient, watcher: Watcher) -> None:
    clean, breaking = simulated.menus()
    rng = random.Random(7)
    await _next_second()
    for index in range(MAX_BATCHES):
        if index == SHIFT_AT:
            console.print(t("watchint.demo.shift"), markup=False, highlight=False)
        rejects = SHIFTED_REJECTS if index >= SHIFT_AT else NORMAL_REJECTS
        answers = await _invoke(client, simulated.batch(clean, breaking, calls=CALLS, rejects=rejects, rng=rng))
        rejected = sum(1 for a in answers if (a.get("output_json") or {}).get("decision") == "reject")
        done = await watcher.tick(await _next_second())
        await watcher.deliver()
        point = done[0].step.point if done else None
        console.print(t("watchint.demo.batch", n=index + 1, calls=len(answers), rejects=rejected,
                        share=f"{rejected / max(1, len(answers)):.0%}",
                        state=point.state if point else "-", reason=point.reason if point else ""),
                      markup=False, highlight=False)  # fmt: skip
        if any(e.step.decision == "act" for e in done):
            console.print(t("watchint.demo.fired", monitor=MONITOR, reason=point.reason if point else ""),
                          markup=False, highlight=False)  # fmt: skip
            break
    else:
        raise SystemExit(t("watchint.demo.never_fired", batches=MAX_BATCHES))
    latest = ws.store.latest_feature_event(FEATURE, STOP_KINDS)
    assert latest is not None and latest.kind == "stopped"
    console.print(t("watchint.demo.stopped", feature=FEATURE, actor=latest.actor, reason=latest.reason or ""),
                  markup=False, highlight=False)  # fmt: skip


async def _calls_after_the_stop(ws: Workspace, client: httpx.AsyncClient) -> None:
    clean, breaking = simulated.menus()
    answers = await _invoke(client, simulated.batch(clean, breaking, calls=CALLS, rejects=SHIFTED_REJECTS,
                                                    rng=random.Random(8)))  # fmt: skip
    queued = sum(1 for a in answers if a.get("route") == "human" and a.get("status") == "queued")
    console.print(t("watchint.demo.queued", queued=queued, calls=len(answers)), markup=False, highlight=False)


async def _wait_delivered(watcher: Watcher, receiver: WebhookReceiver, count: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(receiver.received) < count and time.monotonic() < deadline:
        await watcher.deliver()
        await asyncio.sleep(0.1)


async def _incident(ws: Workspace, watcher: Watcher, receiver: WebhookReceiver) -> None:
    (incident,) = inc.list_incidents(ws, feature=FEATURE)
    console.print(t("watchint.demo.incident", id=incident.id, title=incident.title), markup=False, highlight=False)
    await _wait_delivered(watcher, receiver, 3)  # detected, mitigated, and announced by their delivery
    shown = _show_notifications(receiver, 0)
    console.print(t("watchint.demo.advancing", id=incident.id), markup=False, highlight=False)
    fields: dict[str, dict[str, Any]] = {
        "confirmed": {"false_alarm": False, "cause": t("watchint.demo.cause")},
        "decided": {"decision": "stay_stopped"},
    }
    for stage in LATER_STAGES:
        await asyncio.to_thread(inc.advance, ws, incident.id, stage, actor="demo", **fields.get(stage, {}))
        await _wait_delivered(watcher, receiver, shown + 1)
        shown = _show_notifications(receiver, shown)
    final = inc.get_incident(ws, incident.id)
    console.print(t("watchint.demo.stages", id=final.id), markup=False, highlight=False)
    for stage, at in final.stages.items():
        console.print(t("watchint.demo.stage", stage=t(f"incidents.stage.{stage}"), at=at.strftime("%H:%M:%S.%f")[:-3],
                        actor=final.actors.get(stage, "")), markup=False, highlight=False)  # fmt: skip
    impact = final.impact
    if impact is not None:
        console.print(t("watchint.demo.impact", calls=impact.calls, people=impact.to_people), markup=False,
                      highlight=False)  # fmt: skip
    if final.time_to_mitigate is not None:
        seconds = f"{final.time_to_mitigate.total_seconds():.2f}"
        console.print(t("watchint.demo.ttm", seconds=seconds), markup=False, highlight=False)
    events = [r.event for r in receiver.received]
    console.print(t("watchint.demo.notified", count=len(events), stages=len(final.stages),
                    unique=len(set(events))), markup=False, highlight=False)  # fmt: skip


def _show_notifications(receiver: WebhookReceiver, shown: int) -> int:
    for note in receiver.received[shown:]:
        check = t("watchint.demo.signed" if note.signed else "watchint.demo.unsigned")
        console.print(t("watchint.demo.received", event=note.event, check=check), markup=False, highlight=False)
    return len(receiver.received)
