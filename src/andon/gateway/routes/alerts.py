"""``POST /v1/alerts/alertmanager``: Prometheus Alertmanager's webhook (payload version 4) pulls the cord.

Point an Alertmanager ``webhook_configs`` receiver at this URL with ``http_config.authorization`` carrying an
andon API key of scope ``alerts`` (or ``admin``). Each firing alert whose label (``feature`` by default, see
``alertmanager:`` in andon.yaml) names a feature pulls the cord once per fingerprint: a repeat of a still-open
alert changes nothing. A resolved alert is written on its incident's timeline; resuming stays a human decision.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from andon.errors import AndonError, StoreError
from andon.gateway.auth import Identity, require
from andon.gateway.reload import workspace_of
from andon.store.incidents import IncidentRecord
from andon.workspace import Workspace

router = APIRouter(tags=["alerts"])

ACTOR = "alertmanager"
MAX_ALERTS = 1000


class Alert(BaseModel):
    """One alert of the group, as Alertmanager sends it."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime  # Alertmanager's field names, as sent
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = Field(min_length=1, max_length=200)


class AlertmanagerPayload(BaseModel):
    """Alertmanager's webhook body, version 4."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    groupKey: str = ""
    truncatedAlerts: int = 0
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[Alert] = Field(max_length=MAX_ALERTS)


class AlertOutcome(BaseModel):
    """What happened to one alert."""

    fingerprint: str
    status: str
    outcome: Literal["pulled", "already_open", "resolved", "unmapped", "no_incident", "error"]
    feature: str | None = None
    incident_id: str | None = None
    error: str | None = None


class AlertsResponse(BaseModel):
    """One outcome per alert of the payload (repeated fingerprints once)."""

    received: int
    outcomes: list[AlertOutcome]


def _feature(ws: Workspace, alert: Alert) -> str | None:
    """The feature an alert is about, from its label and the ``alertmanager.features`` map."""
    settings = ws.config.alertmanager
    value = alert.labels.get(settings.feature_label)
    if not value:
        return None
    feature = settings.features.get(value, value)
    return feature if feature in ws.config.features else None


def _reason(alert: Alert) -> str:
    name = alert.labels.get("alertname", "alert")
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    return f"{name}: {summary}" if summary else name


@router.post(
    "/v1/alerts/alertmanager",
    summary="Alertmanager webhook (v4): firing alerts pull the cord",
    response_model=AlertsResponse,
)
async def alertmanager(
    request: Request, body: AlertmanagerPayload, identity: Annotated[Identity, Depends(require("alerts"))]
) -> AlertsResponse:
    """Pull the cord for each firing alert mapped to a feature; record resolved ones on their incident."""
    ws: Workspace = workspace_of(request)
    outcomes: list[AlertOutcome] = []
    seen: set[str] = set()
    for alert in body.alerts:
        if alert.fingerprint in seen:
            continue
        seen.add(alert.fingerprint)
        feature = _feature(ws, alert)
        base: dict[str, Any] = {"fingerprint": alert.fingerprint, "status": alert.status, "feature": feature}
        if feature is None:
            outcomes.append(AlertOutcome(**base, outcome="unmapped"))
            continue
        try:
            if alert.status == "firing":
                outcomes.append(await _firing(ws, feature, alert, base))
            else:
                outcomes.append(await _resolved(ws, alert, base))
        except StoreError:
            raise  # a 503: Alertmanager retries, and what was done already is not done twice
        except AndonError as exc:
            outcomes.append(AlertOutcome(**base, outcome="error", error=exc.message))
    return AlertsResponse(received=len(body.alerts), outcomes=outcomes)


async def _firing(ws: Workspace, feature: str, alert: Alert, base: dict[str, Any]) -> AlertOutcome:
    # Imported when first needed; the ignore goes once deploy/cord.py (issue 8, watchrun) is merged.
    from andon.deploy.cord import pull_cord
    from andon.watch.incidents import record_event

    existing: IncidentRecord | None = await asyncio.to_thread(ws.store.open_incident_by_key, alert.fingerprint)
    if existing is not None:
        return AlertOutcome(**base, outcome="already_open", incident_id=existing.id)
    reason = _reason(alert)
    pull = await pull_cord(
        ws,
        feature,
        action=ws.config.alertmanager.action,
        actor=ACTOR,
        reason=reason,
        detected_at=alert.startsAt,
        dedupe_key=alert.fingerprint,
        runbook=alert.annotations.get("runbook_url") or None,
        owner=alert.labels.get("owner") or alert.labels.get("team") or None,
    )
    if pull.incident_id is not None:
        data = {"fingerprint": alert.fingerprint, "labels": alert.labels, "annotations": alert.annotations,
                "generator_url": alert.generatorURL, "starts_at": alert.startsAt.isoformat()}  # fmt: skip
        await asyncio.to_thread(record_event, ws, pull.incident_id, "alert_firing", actor=ACTOR, text=reason, data=data)
    return AlertOutcome(**base, outcome="pulled", incident_id=pull.incident_id)


async def _resolved(ws: Workspace, alert: Alert, base: dict[str, Any]) -> AlertOutcome:
    from andon.watch.incidents import record_event, timeline

    incident: IncidentRecord | None = await asyncio.to_thread(ws.store.latest_incident_by_key, alert.fingerprint)
    if incident is None:
        return AlertOutcome(**base, outcome="no_incident")
    ends = alert.endsAt.isoformat() if alert.endsAt else None
    events = await asyncio.to_thread(timeline, ws, incident.id)
    repeated = any(e.kind == "alert_resolved" and e.data.get("ends_at") == ends for e in events)
    if not repeated:  # Alertmanager may send the same resolution again
        data = {"fingerprint": alert.fingerprint, "ends_at": ends}
        await asyncio.to_thread(
            record_event, ws, incident.id, "alert_resolved", actor=ACTOR, text=_reason(alert), data=data
        )
    return AlertOutcome(**base, outcome="resolved", incident_id=incident.id)
