"""``POST /v1/alerts/alertmanager`` with Alertmanager's v4 webhook payload: firing alerts pull the cord once per
fingerprint, resolved ones go on the incident's timeline, labels map to features, keys need the alerts scope.

``andon.deploy.cord`` is built by another change of issue 8; until it is merged, these tests put a stand-in
``pull_cord`` (same signature, opening the incident and recording `mitigated` as the real one does) in its place.
"""

from __future__ import annotations

import copy
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.support.incidents import open_workspace

from andon.gateway.app import create_app
from andon.gateway.auth import create_key
from andon.watch import incidents as inc
from andon.workspace import Workspace

# The shape of Alertmanager's webhook body (version 4), as its documentation gives it, filled in.
PAYLOAD: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}/{severity="page"}:{alertname="MenuRejectRateHigh"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "andon",
    "groupLabels": {"alertname": "MenuRejectRateHigh"},
    "commonLabels": {"alertname": "MenuRejectRateHigh", "severity": "page"},
    "commonAnnotations": {"summary": "reject rate above 25 % for 5 minutes"},
    "externalURL": "http://alertmanager.example:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "MenuRejectRateHigh", "severity": "page", "feature": "menu", "team": "menu-team"},
            "annotations": {
                "summary": "reject rate above 25 % for 5 minutes",
                "runbook_url": "https://wiki.example/runbooks/menu-reject-rate",
            },
            "startsAt": "2026-12-01T09:00:00.000Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=andon_reject_rate+%3E+0.25",
            "fingerprint": "a1b2c3d4e5f60718",
        },
        {
            "status": "firing",
            "labels": {"alertname": "SearchErrors", "service": "search-api"},
            "annotations": {"description": "5xx above 5 %"},
            "startsAt": "2026-12-01T09:01:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=x",
            "fingerprint": "0f0e0d0c0b0a0908",
        },
        {
            "status": "firing",
            "labels": {"alertname": "Unrelated", "feature": "not-ours"},
            "annotations": {},
            "startsAt": "2026-12-01T09:02:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": "ffffffffffffffff",
        },
    ],
}


@dataclass
class StandIn:
    """Records each pull and does what the real cord does to incidents."""

    ws: Workspace | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def cord(monkeypatch: pytest.MonkeyPatch) -> StandIn:
    stand_in = StandIn()

    @dataclass(frozen=True)
    class CordPull:
        feature: str
        action: str
        actor: str
        reason: str
        at: datetime
        incident_id: str | None
        details: dict[str, Any]

    async def pull_cord(ws: Workspace, feature: str, *, action: str, actor: str, reason: str,
                        monitor: str | None = None, detected_at: datetime | None = None,
                        dedupe_key: str | None = None, runbook: str | None = None, owner: str | None = None,
                        webhook: str | None = None) -> CordPull:  # fmt: skip
        stand_in.calls.append({"feature": feature, "action": action, "actor": actor, "reason": reason,
                               "detected_at": detected_at, "dedupe_key": dedupe_key, "runbook": runbook,
                               "owner": owner})  # fmt: skip
        assert detected_at is not None
        opened = inc.open_incident(ws, feature=feature, title=reason, actor=actor, detected_at=detected_at,
                                   monitor=monitor, dedupe_key=dedupe_key, runbook=runbook, owner=owner)  # fmt: skip
        inc.advance(ws, opened.id, "mitigated", actor=actor, action=action, at=detected_at)
        return CordPull(feature, action, actor, reason, detected_at, opened.id, {})

    module = types.ModuleType("andon.deploy.cord")
    module.pull_cord = pull_cord  # type: ignore[attr-defined]
    module.CordPull = CordPull  # type: ignore[attr-defined]
    if "andon.deploy" not in sys.modules:
        try:
            import andon.deploy  # noqa: F401  (the real package, once merged)
        except ImportError:
            monkeypatch.setitem(sys.modules, "andon.deploy", types.ModuleType("andon.deploy"))
    monkeypatch.setitem(sys.modules, "andon.deploy.cord", module)
    return stand_in


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Workspace, str]]:
    ws = open_workspace(tmp_path / "ws", database_url, alertmanager={"features": {"search-api": "search"}})
    _record, secret = create_key(ws.store, "alertmanager", ["alerts"], None)
    with TestClient(create_app(ws, close_workspace=True)) as client:
        yield client, ws, secret


def _post(client: TestClient, secret: str, body: dict[str, Any]) -> Any:
    return client.post("/v1/alerts/alertmanager", json=body, headers={"authorization": f"Bearer {secret}"})


def test_each_firing_alert_pulls_the_cord_once_per_fingerprint(
    served: tuple[TestClient, Workspace, str], cord: StandIn
) -> None:
    client, ws, secret = served
    reply = _post(client, secret, PAYLOAD)
    assert reply.status_code == 200, reply.text
    outcomes = {o["fingerprint"]: o for o in reply.json()["outcomes"]}
    assert {f: o["outcome"] for f, o in outcomes.items()} == {
        "a1b2c3d4e5f60718": "pulled", "0f0e0d0c0b0a0908": "unmapped", "ffffffffffffffff": "unmapped",
    }  # fmt: skip
    (call,) = cord.calls
    assert call == {
        "feature": "menu", "action": "stop", "actor": "alertmanager",
        "reason": "MenuRejectRateHigh: reject rate above 25 % for 5 minutes",
        "detected_at": datetime.fromisoformat("2026-12-01T09:00:00+00:00"), "dedupe_key": "a1b2c3d4e5f60718",
        "runbook": "https://wiki.example/runbooks/menu-reject-rate", "owner": "menu-team",
    }  # fmt: skip
    # Alertmanager repeats a firing group every repeat_interval: no second pull while the incident is open.
    again = _post(client, secret, PAYLOAD)
    assert {o["outcome"] for o in again.json()["outcomes"] if o["fingerprint"] == "a1b2c3d4e5f60718"} == {
        "already_open"
    }
    assert len(cord.calls) == 1
    incident = inc.get_incident(ws, outcomes["a1b2c3d4e5f60718"]["incident_id"])
    assert incident.stage == "mitigated" and incident.runbook == "https://wiki.example/runbooks/menu-reject-rate"
    kinds = [e.kind for e in inc.timeline(ws, incident.id)]
    assert kinds == ["stage", "stage", "cord", "alert_firing"]


def test_labels_map_to_features_through_the_configured_label(tmp_path: Path, database_url: str, cord: StandIn) -> None:
    settings = {"feature_label": "service", "features": {"search-api": "search"}, "action": "rollback"}
    ws = open_workspace(tmp_path / "ws", database_url, alertmanager=settings)
    _record, secret = create_key(ws.store, "am", ["admin"], None)
    with TestClient(create_app(ws, close_workspace=True)) as client:
        reply = _post(client, secret, PAYLOAD)
    pulled = [o for o in reply.json()["outcomes"] if o["outcome"] == "pulled"]
    assert [(o["fingerprint"], o["feature"]) for o in pulled] == [("0f0e0d0c0b0a0908", "search")]
    assert [(c["feature"], c["action"], c["reason"]) for c in cord.calls] == [
        ("search", "rollback", "SearchErrors: 5xx above 5 %")
    ]


def test_a_resolved_alert_is_written_on_the_timeline_and_resumes_nothing(
    served: tuple[TestClient, Workspace, str], cord: StandIn
) -> None:
    client, ws, secret = served
    firing = _post(client, secret, PAYLOAD).json()
    incident_id = next(o["incident_id"] for o in firing["outcomes"] if o["outcome"] == "pulled")
    resolved = copy.deepcopy(PAYLOAD)
    resolved["status"] = "resolved"
    resolved["alerts"] = [dict(PAYLOAD["alerts"][0], status="resolved", endsAt="2026-12-01T09:20:00Z")]
    for _ in range(2):  # sent twice: recorded once
        reply = _post(client, secret, resolved)
        assert [o["outcome"] for o in reply.json()["outcomes"]] == ["resolved"]
    events = inc.timeline(ws, incident_id)
    assert [e.kind for e in events].count("alert_resolved") == 1
    assert inc.get_incident(ws, incident_id).stage == "mitigated"  # resuming stays a human decision
    assert len(cord.calls) == 1
    unknown = dict(PAYLOAD["alerts"][0], status="resolved", fingerprint="1234567890abcdef")
    reply = _post(client, secret, {**resolved, "alerts": [unknown]})
    assert [o["outcome"] for o in reply.json()["outcomes"]] == ["no_incident"]


def test_keys_need_the_alerts_scope_and_the_payload_its_shape(
    served: tuple[TestClient, Workspace, str], cord: StandIn
) -> None:
    client, ws, _secret = served
    _record, invoke_only = create_key(ws.store, "app", ["invoke"], None)
    assert client.post("/v1/alerts/alertmanager", json=PAYLOAD).status_code == 401
    assert _post(client, invoke_only, PAYLOAD).status_code == 403
    _record, alerts = create_key(ws.store, "am2", ["alerts"], None)
    assert _post(client, alerts, {**PAYLOAD, "version": "3"}).status_code == 400
    broken = copy.deepcopy(PAYLOAD)
    del broken["alerts"][0]["fingerprint"]
    assert _post(client, alerts, broken).status_code == 400
    assert cord.calls == []
