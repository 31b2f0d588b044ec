"""The cord: pull_cord stops, rolls back or calls a webhook, audited, with its incident detected and mitigated;
the same dedupe key never acts twice, and a pull cut short is finished by pulling again (SQLite and PostgreSQL).
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.watch import watch_support
from tests.watch.watch_support import Receiver, actors_of, incident_rows, stages_of

from andon import deploy
from andon.deploy import CordError, cord, pull_cord, release_cord
from andon.deploy.cord import finish_pending
from andon.errors import ConfigError

# Fixtures shared by the watch tests (pytest finds them by these names).
open_ws = watch_support.open_ws

MENU2 = {"menu": {"versions": {"v1": {"python": "watch_rules:decide"}, "v2": {"python": "watch_rules:decide_v2"}}}}


def stop_events(ws: Any) -> list[Any]:
    return [e for e in deploy.state_events(ws, "menu") if e.kind == "stopped"]


@pytest.fixture
def dies_before_mitigated(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first `mitigated` the cord records raises, as if its process died between the action and the record."""
    real = cord.advance
    failed: list[str] = []

    def advance(*args: Any, **kwargs: Any) -> Any:
        if not failed:
            failed.append("once")
            raise RuntimeError("the process died here")
        return real(*args, **kwargs)

    monkeypatch.setattr(cord, "advance", advance)


async def test_stop_is_audited_and_opens_the_incident_once(open_ws: Any) -> None:
    ws = open_ws({})
    pulled = await pull_cord(
        ws,
        "menu",
        action="stop",
        actor="monitor:rejects",
        reason="reject rate 12% → 30%",
        monitor=None,
        dedupe_key="breach-1",
        runbook="https://wiki/menu",
        owner="menu-team",
    )
    assert ws.store.feature_stopped("menu") == (True, "reject rate 12% → 30%")
    (event,) = stop_events(ws)
    assert (event.actor, event.reason) == ("monitor:rejects", "reject rate 12% → 30%")
    (incident,) = incident_rows(ws)
    assert stages_of(incident) == ["detected", "mitigated"]
    assert actors_of(incident) == {"detected": "monitor:rejects", "mitigated": "monitor:rejects"}
    assert incident.runbook == "https://wiki/menu" and incident.owner == "menu-team"
    assert pulled.incident_id == incident.id and pulled.details["already_stopped"] is False
    again = await pull_cord(
        ws, "menu", action="stop", actor="monitor:rejects", reason="still bad", dedupe_key="breach-1"
    )
    assert again == pulled
    assert len(stop_events(ws)) == 1 and len(incident_rows(ws)) == 1
    (record,) = ws.store.cord_pulls(feature="menu")
    assert record.status == "done" and record.incident_id == incident.id


async def test_a_feature_stopped_by_hand_is_not_stopped_twice(open_ws: Any) -> None:
    ws = open_ws({})
    deploy.stop_feature(ws, "menu", reason="checking a complaint", actor="jimin")
    pulled = await pull_cord(ws, "menu", action="stop", actor="alertmanager", reason="HighErrorRate", dedupe_key="a1")
    assert pulled.details["already_stopped"] is True and pulled.details["by"] == "jimin"
    assert len(stop_events(ws)) == 1
    assert stages_of(incident_rows(ws)[0]) == ["detected", "mitigated"]


async def test_a_pull_cut_short_is_finished_by_pulling_again(open_ws: Any, dies_before_mitigated: None) -> None:
    ws = open_ws({})
    with pytest.raises(RuntimeError, match="died here"):
        await pull_cord(ws, "menu", action="stop", actor="monitor:m", reason="errors", dedupe_key="b2")
    (pending,) = ws.store.cord_pulls(status="pending")
    assert ws.store.feature_stopped("menu")[0]
    assert stages_of(incident_rows(ws)[0]) == ["detected"]
    finished = await finish_pending(ws, pending)
    assert finished.details["already_stopped"] is True  # stopped by this very pull the first time
    assert len(stop_events(ws)) == 1
    (incident,) = incident_rows(ws)
    assert stages_of(incident) == ["detected", "mitigated"]
    assert [p.status for p in ws.store.cord_pulls()] == ["done"]


async def test_rollback_goes_back_once_per_pull(open_ws: Any, dies_before_mitigated: None) -> None:
    ws = open_ws({}, features=MENU2)
    for name in ("v1", "v2"):
        deploy.promote(ws, "menu", name, force=True, actor="tests", reason="test workspace")
    with pytest.raises(RuntimeError):
        await pull_cord(ws, "menu", action="rollback", actor="monitor:m", reason="latency", dedupe_key="r1")
    (pending,) = ws.store.cord_pulls(status="pending")
    done = await finish_pending(ws, pending)
    await pull_cord(ws, "menu", action="rollback", actor="monitor:m", reason="latency", dedupe_key="r1")
    history = deploy.history(ws, "menu")
    assert [(h.action, h.version_name) for h in history] == [("promote", "v1"), ("promote", "v2"), ("rollback", "v1")]
    assert (history[-1].actor, history[-1].reason) == ("monitor:m", "latency")
    assert done.details["version_name"] == "v1"
    assert deploy.live_version(ws, "menu").version_name == "v1"


async def test_webhook_sends_an_openfeature_style_flag_and_is_retried_until_delivered(open_ws: Any) -> None:
    async with Receiver(status=503) as receiver:
        ws = open_ws(
            {
                "flags": {
                    "feature": "menu",
                    "metric": "orders",
                    "source": "pushed",
                    "detector": {"type": "threshold", "fail_below": 1},
                    "actions": [
                        {
                            "type": "webhook",
                            "url": receiver.url,
                            "flag": "menu-ai",
                            "headers": {"Authorization": "Bearer t"},
                        }
                    ],
                }
            }
        )
        with pytest.raises(CordError, match="HTTP 503"):
            await pull_cord(
                ws,
                "menu",
                action="webhook",
                actor="monitor:flags",
                reason="orders dropped",
                monitor="flags",
                dedupe_key="w1",
            )
        (pending,) = ws.store.cord_pulls(status="pending")
        assert "503" in (pending.error or "")
        assert stages_of(incident_rows(ws)[0]) == ["detected"]  # nothing was mitigated yet
        receiver.status = 200
        done = await finish_pending(ws, pending)
        await pull_cord(
            ws, "menu", action="webhook", actor="monitor:flags", reason="again", monitor="flags", dedupe_key="w1"
        )
    (body,) = receiver.delivered
    headers = receiver.received[-1][0]
    assert body["flagKey"] == "menu-ai" and body["value"] is False and body["enabled"] is False
    assert body["reason"] == "DISABLED" and body["variant"] == "off"
    assert body["flagMetadata"]["incidentId"] == done.incident_id and body["flagMetadata"]["monitor"] == "flags"
    assert headers["idempotency-key"] == "w1:webhook" and headers["authorization"] == "Bearer t"
    assert not ws.store.feature_stopped("menu")[0]  # a webhook flips the team's flag; andon's own state stays
    assert stages_of(incident_rows(ws)[0]) == ["detected", "mitigated"]


async def test_release_resumes_only_what_the_monitor_stopped(open_ws: Any) -> None:
    ws = open_ws({})
    await pull_cord(ws, "menu", action="stop", actor="monitor:m", reason="errors", dedupe_key="s1")
    resumed = await release_cord(ws, "menu", actor="monitor:m", reason="recovered", dedupe_key="s1:resume")
    assert resumed.details["resumed"] is True and not ws.store.feature_stopped("menu")[0]
    deploy.stop_feature(ws, "menu", reason="legal asked", actor="jimin")
    kept = await release_cord(ws, "menu", actor="monitor:m", reason="recovered", dedupe_key="s2:resume")
    assert kept.details["resumed"] is False and ws.store.feature_stopped("menu") == (True, "legal asked")
    events = [(e.kind, e.actor) for e in deploy.state_events(ws, "menu")]
    assert events == [("stopped", "monitor:m"), ("resumed", "monitor:m"), ("stopped", "jimin")]


async def test_bad_pulls_are_refused_before_anything_is_done(open_ws: Any) -> None:
    ws = open_ws({})
    with pytest.raises(ConfigError, match="unknown cord action"):
        await pull_cord(ws, "menu", action="pause", actor="x", reason="why")
    with pytest.raises(ConfigError, match="needs a reason"):
        await pull_cord(ws, "menu", action="stop", actor="x", reason="  ")
    with pytest.raises(ConfigError, match="no webhook"):
        await pull_cord(ws, "menu", action="webhook", actor="x", reason="why")
    assert ws.store.cord_pulls() == [] and not ws.store.feature_stopped("menu")[0]


async def test_the_stop_does_not_wait_for_the_incident(open_ws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = open_ws({})
    real_open = cord.open_incident

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("incidents store unreachable")

    monkeypatch.setattr(cord, "open_incident", broken)
    with pytest.raises(CordError, match="incident"):
        await pull_cord(ws, "menu", action="stop", actor="monitor:m", reason="errors", dedupe_key="p1")
    assert ws.store.feature_stopped("menu")[0]  # the line is stopped first; the paperwork follows
    (pending,) = ws.store.cord_pulls(status="pending")
    assert "unreachable" in (pending.error or "")
    monkeypatch.setattr(cord, "open_incident", real_open)
    await finish_pending(ws, pending)
    assert len(stop_events(ws)) == 1
    assert stages_of(incident_rows(ws)[0]) == ["detected", "mitigated"]


async def test_a_resume_by_hand_shows_on_the_incident_the_stop_opened(open_ws: Any) -> None:
    ws = open_ws({})
    pulled = await pull_cord(ws, "menu", action="stop", actor="monitor:rejects", reason="reject rate jumped")
    assert pulled.incident_id is not None
    event = deploy.resume_feature(ws, "menu", reason="false alarm: a test batch", actor="jimin")
    assert event is not None and not ws.store.feature_stopped("menu")[0]
    cords = [e for e in ws.store.incident_events(pulled.incident_id) if e.kind == "cord"]
    last = cords[-1]
    assert (last.actor, last.text, last.data.get("action")) == ("jimin", "false alarm: a test batch", "resume")
    assert deploy.resume_feature(ws, "menu", actor="jimin") is None  # not stopped: nothing more on the incident
    # A later stop without an incident (andon stop --no-incident) and its resume leave the old incident alone.
    deploy.stop_feature(ws, "menu", reason="a quick check", actor="jimin")
    assert deploy.resume_feature(ws, "menu", actor="jimin") is not None
    assert len([e for e in ws.store.incident_events(pulled.incident_id) if e.kind == "cord"]) == len(cords)
