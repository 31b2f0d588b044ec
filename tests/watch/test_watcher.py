"""The watcher: ticks driven by an injected clock, one cord pull per breach, state restored after a restart
(no re-warm, no second pull), leases with a fencing token, shadow mode, resume on recovery, a pull cut short
finished by the next watcher; and real processes: two watchers on one PostgreSQL, a watcher SIGKILLed mid-action.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.support.receivers import HttpReceiver
from tests.watch import watch_support
from tests.watch.watch_support import Receiver, incident_rows, stages_of, write_workspace

from andon import deploy
from andon.deploy import cord
from andon.store import Store
from andon.store.watch import WatchPoint
from andon.watch.watcher import Watcher, monitor_status

# Fixtures shared by the watch tests (pytest finds them by these names).
open_ws = watch_support.open_ws

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def pushed(**extra: Any) -> dict[str, Any]:
    spec = {
        "feature": "menu",
        "metric": "errors",
        "source": {"type": "pushed", "name": "errors", "aggregate": "max"},
        "interval": 60,
        "window": 60,
        "detector": {"type": "threshold", "fail_above": 0.5},
        "for": 2,
    }
    return spec | extra


def push(ws: Any, values: list[float], *, name: str = "errors", start: datetime = T0) -> None:
    """Value i in the minute starting at start + i minutes (read by the tick at start + i + 1 minutes)."""
    ws.store.save_metric_values(
        [(name, start + timedelta(minutes=i, seconds=30), v) for i, v in enumerate(values)], api_key_id=None
    )


async def ticks(watcher: Watcher, minutes: range) -> list[Any]:
    done = []
    for minute in minutes:
        done += await watcher.tick(T0 + timedelta(minutes=minute, seconds=2))
    return done


def stops(ws: Any) -> list[Any]:
    return [e for e in deploy.state_events(ws, "menu") if e.kind == "stopped"]


async def test_a_breach_pulls_the_cord_once(open_ws: Any) -> None:
    ws = open_ws({"errors": pushed(runbook="https://wiki/errors", owner="oncall")})
    push(ws, [0.1, 0.1, 0.9, 0.9, 0.9, 0.9, 0.1])
    async with Watcher(ws) as watcher:
        done = await ticks(watcher, range(0, 8))
        assert await watcher.tick(T0 + timedelta(minutes=7, seconds=30)) == []  # that tick is stored already
    states = [(e.step.point.ts.minute, e.step.point.state, e.step.decision) for e in done]
    assert states == [
        (0, "paused", None),
        (1, "ok", None),
        (2, "ok", None),
        (3, "fail", None),
        (4, "fail", "act"),
        (5, "fail", None),
        (6, "fail", None),
        (7, "ok", None),
    ]
    (event,) = stops(ws)
    assert event.actor == "monitor:errors" and "errors failed" in (event.reason or "")
    (incident,) = incident_rows(ws)
    assert stages_of(incident) == ["detected", "mitigated"] and incident.runbook == "https://wiki/errors"
    assert datetime.fromisoformat(incident.stages["detected"]["at"]) == T0 + timedelta(minutes=4)
    points = ws.store.watch_points("errors")
    assert [p.decision for p in points].count("act") == 1 and len(points) == 8


async def test_a_restart_neither_warms_up_again_nor_pulls_again(open_ws: Any) -> None:
    detector = {"type": "robust-z", "warmup": 5, "baseline": {"season": None, "window": 10}}
    # 24 ordinary points: warm-up, then the 20 residuals robust-z needs before it trusts its spread.
    values = [10.0 + (i % 3) for i in range(24)] + [90.0] * 3 + [10.0, 11.0, 90.0]
    monitor = pushed(detector=detector, **{"for": 1})
    ws = open_ws({"straight": monitor, "restarted": monitor})  # one store per test: two monitors side by side
    push(ws, values)
    async with Watcher(ws, only=["straight"]) as one:
        straight = await ticks(one, range(1, 31))
    async with Watcher(ws, only=["restarted"], owner="first") as first:
        before = await ticks(first, range(1, 27))  # stopped in the middle of the breach
    async with Watcher(ws, only=["restarted"], owner="second") as second:  # a new process: all from the store
        after = await ticks(second, range(27, 31))
    seen = [(e.step.point.state, e.step.point.reason, e.step.decision) for e in straight]
    assert [(e.step.point.state, e.step.point.reason, e.step.decision) for e in before + after] == seen
    assert all("warming up" not in e.step.point.reason for e in after)
    assert [e.step.decision for e in straight].count("act") == 1  # the second spike is within the cooldown
    assert ws.store.monitor_state("restarted").state["detector"]["seen"] == len(values)
    assert len(stops(ws)) == 1  # the feature is stopped once: the second monitor finds it stopped already
    assert len(incident_rows(ws)) == 2  # one breach of each monitor


async def test_only_the_lease_holder_evaluates(open_ws: Any) -> None:
    ws = open_ws({"errors": pushed()})
    push(ws, [0.1] * 3)
    async with Watcher(ws, owner="a") as a, Watcher(ws, owner="b") as b:
        assert len(await a.tick(T0 + timedelta(minutes=1))) == 1
        assert await b.tick(T0 + timedelta(minutes=2)) == []
        assert len(await a.tick(T0 + timedelta(minutes=2))) == 1
        await a.aclose()  # gives the lease back
        assert len(await b.tick(T0 + timedelta(minutes=3))) == 1
    assert [s.lease_owner for s in monitor_status(ws)] == ["b"]


def test_a_stale_fencing_token_cannot_commit(store: Store) -> None:
    now = datetime.now(UTC)
    point = WatchPoint(monitor="m", ts=T0, value=1.0, state="ok", score=0.0, reason="fine")
    assert store.acquire_lease("m", "a", 60, now) == 1
    assert store.acquire_lease("m", "b", 60, now) is None  # held
    assert store.acquire_lease("m", "a", 60, now) == 1  # renewed, same token
    assert store.acquire_lease("m", "b", 60, now + timedelta(seconds=61)) == 2  # expired: taken over
    assert not store.commit_evaluation("m", owner="a", token=1, point=point, status="ok", state={})
    assert store.watch_points("m") == []
    assert store.commit_evaluation("m", owner="b", token=2, point=point, status="ok", state={})
    later = WatchPoint(monitor="m", ts=T0 - timedelta(minutes=1), value=1.0, state="ok", score=0.0, reason="old")
    assert not store.commit_evaluation("m", owner="b", token=2, point=later, status="ok", state={})  # not newer
    assert len(store.watch_points("m")) == 1


async def test_shadow_mode_records_and_never_acts(open_ws: Any) -> None:
    ws = open_ws({"errors": pushed(mode="shadow")})
    push(ws, [0.9, 0.9, 0.9])
    async with Watcher(ws) as watcher:
        done = await ticks(watcher, range(1, 4))
    assert [e.step.decision for e in done] == [None, "shadow", None]
    assert stops(ws) == [] and incident_rows(ws) == [] and ws.store.cord_pulls() == []


async def test_resume_on_recovery(open_ws: Any) -> None:
    ws = open_ws({"errors": pushed(resume={"when": "on_recovery", "for": "2m"})})
    push(ws, [0.9, 0.9, 0.1, 0.1, 0.1])
    async with Watcher(ws) as watcher:
        done = await ticks(watcher, range(1, 6))
    assert [e.step.decision for e in done] == [None, "act", None, "resume", None]
    assert [(e.kind, e.actor) for e in deploy.state_events(ws, "menu")] == [
        ("stopped", "monitor:errors"),
        ("resumed", "monitor:errors"),
    ]


async def test_a_pull_cut_short_is_finished_by_the_next_watcher(open_ws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = open_ws({"errors": pushed(**{"for": 1})})
    push(ws, [0.9, 0.9, 0.9])
    real, failed = cord.advance, []

    def dies_once(*args: Any, **kwargs: Any) -> Any:  # the first `mitigated` fails, as if the process died there
        if not failed:
            failed.append(1)
            raise deploy.CordError("the process died here")
        return real(*args, **kwargs)

    monkeypatch.setattr(cord, "advance", dies_once)
    async with Watcher(ws, owner="dies") as first:
        await ticks(first, range(1, 2))
    assert [p.status for p in ws.store.cord_pulls()] == ["pending"] and ws.store.feature_stopped("menu")[0]
    async with Watcher(ws, owner="next") as second:
        await ticks(second, range(2, 3))
    assert [p.status for p in ws.store.cord_pulls()] == ["done"]
    assert len(stops(ws)) == 1
    assert stages_of(incident_rows(ws)[0]) == ["detected", "mitigated"]


async def test_a_failing_webhook_is_retried_on_the_next_tick(open_ws: Any) -> None:
    async with Receiver(status=500) as receiver:
        ws = open_ws({"errors": pushed(**{"for": 1}, actions=["stop", {"type": "webhook", "url": receiver.url}])})
        push(ws, [0.9, 0.9, 0.9])
        async with Watcher(ws) as watcher:
            first = await ticks(watcher, range(1, 2))
            assert first[0].errors and ws.store.feature_stopped("menu")[0]
            receiver.status = 200
            await ticks(watcher, range(2, 4))
    assert len(receiver.delivered) == 1
    assert {p.action: p.status for p in ws.store.cord_pulls()} == {"stop": "done", "webhook": "done"}
    assert len(incident_rows(ws)) == 1


async def test_status_shows_state_value_and_verdict(open_ws: Any) -> None:
    ws = open_ws({"errors": pushed(**{"for": 1}), "idle": pushed(source={"type": "pushed", "name": "idle"})})
    push(ws, [0.9])
    async with Watcher(ws, owner="w1") as watcher:
        await ticks(watcher, range(1, 2))
        rows = {r.name: r for r in monitor_status(ws)}
    errors, idle = rows["errors"], rows["idle"]
    assert errors.status == "breached" and errors.last_value == 0.9 and errors.last_decision == "act"
    assert errors.breach == f"monitor:errors:{(T0 + timedelta(minutes=1)).isoformat()}"  # in full
    assert errors.feature_stopped is True and errors.lease_owner == "w1"
    assert idle.status == "paused" and idle.last_value is None


# --- real processes -------------------------------------------------------------------------------------


def watcher_process(root: Path, log: Path, database_url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("ANDON_DATABASE_URL", "ANDON_WORKSPACE")}
    env |= {"ANDON_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT / "src")}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "andon", "--workspace", str(root), "watch", "--lease-ttl", "1"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
            start_new_session=True,
        )


def live_workspace(root: Path, database_url: str, interval: int = 1, **monitor: Any) -> Store:
    """A workspace whose pushed metric breaches in every window for the next two minutes."""
    write_workspace(root, {"errors": pushed(interval=interval, window=interval, **{"for": 1}, **monitor)})
    store = Store.open(database_url)
    now = datetime.now(UTC)
    store.save_metric_values(
        [("errors", now + timedelta(seconds=i / 5), 0.9) for i in range(-20, 600)], api_key_id=None
    )
    return store


def wait_for(check: Any, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def stop_all(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.postgres
def test_two_watcher_processes_on_postgresql_act_once(tmp_path: Path, postgres_server: Any) -> None:
    from tests.conftest import create_postgres_database, drop_postgres_database

    url = create_postgres_database(postgres_server)
    try:
        # Ticks every 2 s, leases of 1 s: a lease has lapsed at each tick, so the two race to take it.
        store = live_workspace(tmp_path, url, interval=2)
        logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
        processes = [watcher_process(tmp_path, log, url) for log in logs]
        try:
            wait_for(lambda: [p.status for p in store.cord_pulls()] == ["done"])
            first_points = len(store.watch_points("errors"))
            wait_for(lambda: len(store.watch_points("errors")) >= first_points + 5)  # and go on ticking
        finally:
            stop_all(*processes)
        owners = {
            line.split(" as ")[-1].strip() for log in logs for line in log.read_text().splitlines() if " as " in line
        }
        assert len(owners) == 2, [log.read_text()[-2000:] for log in logs]
        stopped = [e for e in store.feature_events("menu") if e.kind == "stopped"]
        assert len(stopped) == 1 and stopped[0].actor == "monitor:errors"
        assert len(incident_rows(store)) == 1
        assert [p.decision for p in store.watch_points("errors")].count("act") == 1
        store.close()
    finally:
        drop_postgres_database(postgres_server, url)


def test_a_watcher_sigkilled_mid_action_leaves_nothing_half_done(tmp_path: Path, database_url: str) -> None:
    with HttpReceiver() as flags:
        flags.hold = threading.Event()  # accepts the cord's webhook call and never answers it
        hook = {"type": "webhook", "url": f"{flags.url}/flags", "flag": "menu-ai"}
        store = live_workspace(tmp_path, database_url, actions=[hook, "stop"])
        dying = watcher_process(tmp_path, tmp_path / "dying.log", database_url)
        try:
            wait_for(lambda: len(flags.requests) == 1)  # the watcher is inside the webhook call: mid-action
            os.killpg(dying.pid, signal.SIGKILL)
            dying.wait(timeout=30)
        finally:
            stop_all(dying)
        assert sorted((p.action, p.status) for p in store.cord_pulls()) == [("stop", "pending"), ("webhook", "pending")]
        assert not store.feature_stopped("menu")[0]
        (opened,) = incident_rows(store)
        assert stages_of(opened) == ["detected"]  # opened before the action, not yet mitigated
        flags.hold.set()  # the receiver answers again
        flags.hold = None
        restarted = watcher_process(tmp_path, tmp_path / "restarted.log", database_url)
        try:
            wait_for(lambda: [p.status for p in store.cord_pulls()] == ["done", "done"])
        finally:
            stop_all(restarted)
    assert len([e for e in store.feature_events("menu") if e.kind == "stopped"]) == 1
    (incident,) = incident_rows(store)
    assert incident.id == opened.id and stages_of(incident) == ["detected", "mitigated"]
    assert [r.headers["idempotency-key"] for r in flags.requests] == [f"{opened.dedupe_key}:webhook"] * 2
    log = (tmp_path / "restarted.log").read_text()
    assert "finished a stop of menu" in log and "finished a webhook of menu" in log, log[-3000:]
    store.close()
