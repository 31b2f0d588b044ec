"""``POST /v1/alerts/alertmanager`` with Alertmanager's v4 webhook payload: firing alerts pull the cord once per
fingerprint, resolved ones go on the incident's timeline, labels map to features, keys need the alerts scope.

The real cord runs end to end (the feature is stopped, the incident opened and mitigated); a spy around
``pull_cord`` records what the route asked of it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.support.incidents import open_workspace, write_workspace

from andon import deploy
from andon.deploy import cord as cord_module
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
class Spy:
    """The arguments of each pull the route made (the real ``pull_cord`` does the work)."""

    calls: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def cord(monkeypatch: pytest.MonkeyPatch) -> Spy:
    spy = Spy()
    real = cord_module.pull_cord

    async def pull_cord(ws: Workspace, feature: str, **kwargs: Any) -> cord_module.CordPull:
        keep = ("action", "actor", "reason", "detected_at", "dedupe_key", "runbook", "owner")
        spy.calls.append({"feature": feature, **{k: kwargs.get(k) for k in keep}})
        return await real(ws, feature, **kwargs)

    monkeypatch.setattr(cord_module, "pull_cord", pull_cord)
    return spy


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Workspace, str]]:
    ws = open_workspace(tmp_path / "ws", database_url, alertmanager={"features": {"search-api": "search"}})
    _record, secret = create_key(ws.store, "alertmanager", ["alerts"], None)
    with TestClient(create_app(ws, close_workspace=True)) as client:
        yield client, ws, secret


def _post(client: TestClient, secret: str, body: dict[str, Any]) -> Any:
    return client.post("/v1/alerts/alertmanager", json=body, headers={"authorization": f"Bearer {secret}"})


def test_each_firing_alert_pulls_the_cord_once_per_fingerprint(
    served: tuple[TestClient, Workspace, str], cord: Spy
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
    assert ws.store.feature_stopped("menu") == (True, "MenuRejectRateHigh: reject rate above 25 % for 5 minutes")
    (stopped,) = [e for e in deploy.state_events(ws, "menu") if e.kind == "stopped"]
    assert stopped.actor == "alertmanager"
    assert not ws.store.feature_stopped("search")[0]  # unmapped alerts stop nothing
    kinds = [e.kind for e in inc.timeline(ws, incident.id)]
    assert kinds == ["stage", "stage", "cord", "alert_firing"]


def test_labels_map_to_features_through_the_configured_label(tmp_path: Path, database_url: str, cord: Spy) -> None:
    settings = {"feature_label": "service", "features": {"search-api": "search"}, "action": "rollback"}
    two = {"versions": {"v1": {"python": "inc_rules:echo"}, "v2": {"python": "inc_rules:echo2"}}}
    folder = write_workspace(tmp_path / "ws", alertmanager=settings, features={"menu": two, "search": two})
    with (folder / "inc_rules.py").open("a", encoding="utf-8") as rules:
        rules.write("\n\ndef echo2(variables):\n    return {'echo': str(variables)}\n")
    ws = Workspace.open(folder, database_url=database_url)
    for name in ("v1", "v2"):
        deploy.promote(ws, "search", name, force=True, actor="tests", reason="two versions to roll back between")
    _record, secret = create_key(ws.store, "am", ["admin"], None)
    with TestClient(create_app(ws, close_workspace=True)) as client:
        reply = _post(client, secret, PAYLOAD)
    pulled = [o for o in reply.json()["outcomes"] if o["outcome"] == "pulled"]
    assert [(o["fingerprint"], o["feature"]) for o in pulled] == [("0f0e0d0c0b0a0908", "search")], reply.text
    assert [(c["feature"], c["action"], c["reason"]) for c in cord.calls] == [
        ("search", "rollback", "SearchErrors: 5xx above 5 %")
    ]
    assert deploy.live_version(ws, "search").version_name == "v1"  # really rolled back


def test_a_resolved_alert_is_written_on_the_timeline_and_resumes_nothing(
    served: tuple[TestClient, Workspace, str], cord: Spy
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
    served: tuple[TestClient, Workspace, str], cord: Spy
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
