"""The dashboard bench's watch, incident and OKR data at scale (``bench.web_pages`` calls these).

Monitors: ``monitors`` pushed monitors in andon.yaml (every other one a learning ``robust-z`` detector, so its
points carry a band) with a week of per-minute points, ``bad_share`` of them warn or fail. Incidents: made by
the floor-7 functions the cord and the CLI call, most walked to ``closed``. OKRs: teams, this quarter's
objectives, key results and check-ins spread over the quarter so far.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from andon.okr.objectives import add_key_result, create_objective
from andon.okr.periods import bounds, period_of
from andon.store.models import WatchPointRow, utcnow
from andon.store.okr import CheckIn, KeyResult, Objective, Team
from andon.watch.incidents import add_note, advance, open_incident
from andon.workspace import Workspace

WEEK_MINUTES = 7 * 24 * 60
_BATCH = 5000
TEAMS = 10


def monitor_name(i: int) -> str:
    """The bench's i-th monitor."""
    return f"bench_m{i:02d}"


def monitors_config(monitors: int) -> dict[str, Any]:
    """``monitors`` pushed monitors: even ones judged by thresholds, odd ones by robust-z (a band)."""
    out: dict[str, Any] = {}
    for i in range(monitors):
        detector: dict[str, Any] = (
            {"type": "threshold", "warn_above": 0.2, "fail_above": 0.5}
            if i % 2 == 0
            else {"type": "robust-z", "warmup": 5, "baseline": {"season": None}}
        )
        out[monitor_name(i)] = {
            "feature": "menu",
            "metric": "errors",
            "source": {"type": "pushed", "name": monitor_name(i), "aggregate": "max"},
            "interval": 60,
            "window": 60,
            "detector": detector,
            "mode": "shadow",
            "owner": f"team-{i % TEAMS}",
        }
    return out


def add_monitors(folder: Path, monitors: int) -> None:
    """Declare the bench monitors in the workspace's andon.yaml (JSON is YAML)."""
    path = folder / "andon.yaml"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["monitors"] = {**config.get("monitors", {}), **monitors_config(monitors)}
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")


def fill_watch_points(ws: Workspace, monitors: int, *, bad_share: float = 0.8, seed: int = 10) -> int:
    """A week of per-minute points for each bench monitor, written in bulk (the watcher would take a week)."""
    rng = random.Random(seed)
    end = utcnow().replace(second=0, microsecond=0)
    start = end - timedelta(minutes=WEEK_MINUTES)
    written = 0
    for i in range(monitors):
        banded = i % 2 == 1
        rows: list[dict[str, Any]] = []
        for minute in range(WEEK_MINUTES):
            value = rng.random()
            bad = rng.random() < bad_share
            state = ("fail" if rng.random() < 0.5 else "warn") if bad else "ok"
            rows.append(_point(monitor_name(i), start + timedelta(minutes=minute), value, state, banded))
            if len(rows) == _BATCH:
                written += _insert_points(ws, rows)
                rows = []
        written += _insert_points(ws, rows)
    return written


def _point(monitor: str, ts: datetime, value: float, state: str, banded: bool) -> dict[str, Any]:
    return {
        "monitor": monitor, "ts": ts, "value": value, "state": state, "score": 0.6 if state == "fail" else 0.3,
        "reason": f"bench {state}", "fired": False, "decision": "shadow" if state == "fail" else None,
        "mode": "shadow", "band_low": 0.3 if banded else None, "band_high": 0.7 if banded else None,
        "created_at": ts,
    }  # fmt: skip


def _insert_points(ws: Workspace, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    with ws.store._write() as session:  # bench data only: the store has no bulk writer for watch points
        session.execute(insert(WatchPointRow), rows)
    return len(rows)


def fill_incidents(ws: Workspace, incidents: int, monitors: int) -> list[str]:
    """``incidents`` incidents over the last 90 days, nine in ten walked to ``closed``; their ids."""
    now = utcnow()
    ids: list[str] = []
    for i in range(incidents):
        detected = now - timedelta(minutes=130 * (incidents - i))
        monitor = monitor_name(i % monitors) if monitors else None
        made = open_incident(ws, feature="menu", title=f"menu errors up ({i})", actor="monitor:bench",
                             detected_at=detected, monitor=monitor, metric="errors")  # fmt: skip
        ids.append(made.id)
        if i % 10 == 9:
            add_note(ws, made.id, "looking at the provider dashboard", actor="user:ravi", at=detected)
            continue
        steps: tuple[tuple[str, dict[str, Any]], ...] = (
            ("mitigated", {"action": "stop"}),
            ("confirmed", {"false_alarm": i % 4 == 0, "cause": f"provider timeout {i % 7}"}),
            ("decided", {"decision": "resume"}),
            ("closed", {}),
        )
        for minute, (stage, fields) in enumerate(steps, start=1):
            advance(ws, made.id, stage, actor="user:rita", at=detected + timedelta(minutes=minute), **fields)
    return ids


def fill_okrs(ws: Workspace, key_results: int, checkins: int) -> list[str]:
    """This quarter's objectives (five key results each) over ``TEAMS`` teams and ``checkins`` check-ins; the
    key results' ids."""
    store = ws.store
    now = utcnow()
    period = period_of(now.date())
    for t in range(TEAMS):
        store.upsert_team(Team(id=f"team-{t}", name=f"팀 {t}", members=(f"owner{t}",)))
    start, _ = bounds(period)
    ids: list[str] = []
    objective = None
    for k in range(key_results):
        if k % 5 == 0:
            objective = create_objective(
                store, Objective(title=f"Objective {k // 5}: 메뉴 검수 자동화", owner=f"owner{k % TEAMS}",
                                 team=f"team-{k % TEAMS}", period=period.id)
            )  # fmt: skip
        assert objective is not None
        kr = add_key_result(
            store, KeyResult(objective=objective.id, title=f"KR {k}: automatic approvals", owner=f"owner{k % TEAMS}",
                             unit="%", start=40, target=70 if k % 3 else 20,
                             direction="increase" if k % 3 else "decrease"), actor="bench"
        )  # fmt: skip
        ids.append(kr.id)
    span = max((now - start).total_seconds(), 3600.0)
    per = max(checkins // max(key_results, 1), 1)
    made = [
        CheckIn(key_result=kr_id, value=40.0 + (j * 7 + n) % 30, author=f"user:owner{n % TEAMS}", confidence=7,
                comment="weekly", created_at=start + timedelta(seconds=span * (j + 0.5) / per))
        for n, kr_id in enumerate(ids)
        for j in range(per)
    ]  # fmt: skip
    for at in range(0, len(made), _BATCH):
        store.add_checkins(made[at : at + _BATCH])
    return ids


def fill_deploys(ws: Workspace, events: int = 40) -> None:
    """A rollout of ``menu`` with ``events`` step events (each with an analysis) and a decided experiment, once."""
    from andon.store.records import new_id
    from andon.store.rollouts import NewRolloutEvent

    if ws.store.list_rollouts("menu"):
        return
    versions = ws.declared_versions("menu")
    stable, canary = versions[0], versions[-1]
    steps = [{"weight": w, "hold": 600} for w in (5, 25, 50)]
    rollout = ws.store.create_rollout(
        {"id": new_id("rol"), "feature": "menu", "stable_id": stable.id, "stable_name": stable.name,
         "canary_id": canary.id, "canary_name": canary.name, "status": "running", "step": 0, "weight": 500,
         "step_started_at": utcnow(), "settings": {"config": {"steps": steps}}, "actor": "bench", "reason": None},
        NewRolloutEvent("started", 0, "bench", None, {"weight": 5}),
    )  # fmt: skip
    assert rollout is not None
    for i in range(events):
        analysis = {"analysis": {"verdict": "wait", "calls": 40 * i, "error_rate": {"canary": 0.004, "stable": 0.005}}}
        changed = ws.store.change_rollout(rollout.id, rollout.revision, {}, [NewRolloutEvent("held", 0, "watcher",
                                          f"look {i}", analysis)])  # fmt: skip
        assert changed is not None
        rollout = changed
    arms = [{"label": label, "version_id": v.id, "version_name": v.name, "weight": 50}
            for label, v in (("A", stable), ("B", canary))]  # fmt: skip
    experiment = ws.store.create_experiment(
        {"id": new_id("exp"), "feature": "menu", "name": "bench", "status": "running",
         "settings": {"config": {"unit": "user"}, "arms": arms}, "results": {}, "decision": None, "actor": "bench",
         "reason": None}
    )  # fmt: skip
    assert experiment is not None
    result = {"estimate": 0.01, "low": -0.002, "high": 0.022, "p_value": 0.2, "n_control": 4000, "n_treatment": 4000,
              "control_mean": 0.1, "treatment_mean": 0.11}  # fmt: skip
    ws.store.change_experiment(experiment.id, experiment.revision, {"results": {"conversion": {"B": result}}})
