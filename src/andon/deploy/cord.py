"""The Andon cord: stop a feature (its calls go to the human review queue) and resume it, by hand or pulled
by a monitor or Alertmanager; roll back; or call a webhook that flips a flag. Every pull is audited with
actor and reason, opens the incident and records it mitigated.

A pull is claimed under its ``dedupe_key`` before anything is done and marked done after, so a pull cut
short (a watcher killed mid-action) is finished by pulling again with the same key: each step is idempotent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from andon.config.schema import ActionConfig
from andon.deploy._common import actor_name, clean_reason, require_feature
from andon.deploy.canary_state import degrade
from andon.deploy.promotion import rollback
from andon.errors import AndonError, ConfigError
from andon.messages import t
from andon.store.deploy import CASES_KINDS, STOP_KINDS, FeatureEvent
from andon.store.models import utcnow
from andon.store.records import new_id
from andon.store.watch import CordPullRecord, PullClaim
from andon.watch.incidents import Incident, advance, open_incident, record_event
from andon.workspace import Workspace

ACTIONS = ("stop", "rollback", "webhook", "rollout")  # rollout: a failed canary's traffic back to stable


class CordError(AndonError):
    """The cord's action could not be completed (e.g. the webhook failed); the pull stays pending and is retried."""

    exit_code = 3


def stop_feature(ws: Workspace, feature: str, *, reason: str | None, actor: str | None = None) -> FeatureEvent | None:
    """Pull the cord: the gateway sends the feature's calls to the human queue. None if it was stopped already."""
    require_feature(ws, feature)
    why = clean_reason(reason)
    if why is None:
        raise ConfigError(t("house3.deploy.stop_reason"), hint=t("house3.deploy.stop_reason_hint", feature=feature))
    if ws.store.feature_stopped(feature)[0]:
        return None
    return ws.store.record_feature_event(feature, "stopped", {"stopped": True}, actor_name(actor), why)


def resume_feature(
    ws: Workspace, feature: str, *, reason: str | None = None, actor: str | None = None
) -> FeatureEvent | None:
    """Serve the feature with the AI again. None if it was not stopped."""
    require_feature(ws, feature)
    if not ws.store.feature_stopped(feature)[0]:
        return None
    stop = ws.store.latest_feature_event(feature, STOP_KINDS)
    event = ws.store.record_feature_event(
        feature, "resumed", {"stopped": False}, actor_name(actor), clean_reason(reason)
    )
    incident_id = _incident_of_stop(ws, feature, stop.id) if stop is not None else None
    if incident_id is not None:
        # The incident the stop opened shows its resume too; resuming is no stage, the decision stays a person's.
        record_event(ws, incident_id, "cord", actor=event.actor, text=event.reason, data={"action": "resume"})
    return event


def state_events(ws: Workspace, feature: str) -> list[FeatureEvent]:
    """The feature's stop/resume and data-use events, oldest first."""
    require_feature(ws, feature)
    return ws.store.feature_events(feature, STOP_KINDS + CASES_KINDS)


# --- the automatic cord ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CordPull:
    """What one pull of the cord did: the action, who pulled it and why, and the incident it opened."""

    feature: str
    action: str
    actor: str
    reason: str
    at: datetime
    incident_id: str | None
    details: dict[str, Any]


async def pull_cord(
    ws: Workspace,
    feature: str,
    *,
    action: str,
    actor: str,
    reason: str,
    monitor: str | None = None,
    detected_at: datetime | None = None,
    dedupe_key: str | None = None,
    runbook: str | None = None,
    owner: str | None = None,
    webhook: str | None = None,
    rollout: str | None = None,
) -> CordPull:
    """Stop (the feature's fallback decides where calls go), roll back, call a webhook, or send a canary
    rollout's traffic back to stable; audited with actor and reason; opens the incident (open_incident) and
    records `mitigated` (advance) with what was done."""
    require_feature(ws, feature)
    if action not in ACTIONS:
        raise ConfigError(
            t("watch.cord.unknown_action", action=action), where="action", hint=t("watch.cord.actions_hint")
        )
    why = clean_reason(reason)
    if why is None:
        raise ConfigError(
            t("watch.cord.needs_reason"), where="reason", hint=t("watch.cord.reason_hint", feature=feature)
        )
    who = actor_name(actor)
    watched = ws.config.monitors.get(monitor) if monitor is not None else None
    detected = detected_at or utcnow()
    spec = _webhook_spec(ws, feature, watched.actions if watched else [], webhook) if action == "webhook" else None
    claim = PullClaim(
        dedupe_key=dedupe_key or new_id("cord"),  # a pull by hand without a key is its own event
        action=action,
        feature=feature,
        actor=who,
        reason=why,
        monitor=monitor,
        params={
            "detected_at": detected.isoformat(),
            "runbook": runbook or (watched.runbook if watched else None),
            "owner": owner or (watched.owner if watched else None),
            "webhook": spec.url if spec is not None else None,
            "rollout": rollout,
        },
    )
    pull = await asyncio.to_thread(ws.store.claim_pull, claim)
    if pull.status == "done":
        return _as_pull(pull)  # finished before (another watcher, or a retry): nothing is done twice
    opening = _open(ws, pull, title=t("watch.cord.title", feature=feature, why=why), detected=detected,
                    metric=watched.metric if watched else None)  # fmt: skip
    incident: Incident | None = None
    problem: str | None = None
    try:
        incident = await opening
    except Exception as exc:
        # The line is stopped first and the paperwork follows: a broken incident store never blocks the cord.
        problem = t("watch.cord.incident_failed", error=f"{type(exc).__name__}: {exc}")
    try:
        details = await _act(ws, pull, spec, incident.id if incident is not None else None)
    except CordError as exc:
        await asyncio.to_thread(ws.store.note_pull_error, pull.id, exc.message)
        raise
    if incident is None:
        await asyncio.to_thread(ws.store.note_pull_error, pull.id, problem or "")
        raise CordError(problem or "", where=f"cord {feature}", hint=t("watch.cord.incident_hint"))
    if "mitigated" not in incident.stages:
        await asyncio.to_thread(
            advance,
            ws,
            incident.id,
            "mitigated",
            actor=who,
            note=details["summary"],
            at=utcnow(),
            action=pull.action,
            mitigation=details,
        )
    done = await asyncio.to_thread(ws.store.finish_pull, pull.id, incident_id=incident.id, details=details)
    return _as_pull(done)


async def _open(ws: Workspace, pull: CordPullRecord, *, title: str, detected: datetime, metric: str | None) -> Incident:
    return await asyncio.to_thread(
        open_incident,
        ws,
        feature=pull.feature,
        title=title,
        actor=pull.actor,
        detected_at=detected,
        monitor=pull.monitor,
        metric=metric,
        dedupe_key=pull.dedupe_key,
        runbook=pull.params.get("runbook"),
        owner=pull.params.get("owner"),
        details={"action": pull.action, "reason": pull.reason},
    )


async def finish_pending(ws: Workspace, pull: CordPullRecord) -> CordPull:
    """Finish a pull that was claimed but not done (its puller died): the same pull again, idempotently."""
    params = pull.params
    detected = params.get("detected_at")
    if pull.action == "resume":
        resumed = await release_cord(
            ws, pull.feature, actor=pull.actor, reason=pull.reason, monitor=pull.monitor, dedupe_key=pull.dedupe_key
        )
        return resumed
    return await pull_cord(
        ws,
        pull.feature,
        action=pull.action,
        actor=pull.actor,
        reason=pull.reason,
        monitor=pull.monitor,
        detected_at=datetime.fromisoformat(detected) if isinstance(detected, str) else None,
        dedupe_key=pull.dedupe_key,
        runbook=params.get("runbook"),
        owner=params.get("owner"),
        webhook=params.get("webhook"),
        rollout=params.get("rollout"),
    )


async def release_cord(
    ws: Workspace, feature: str, *, actor: str, reason: str, monitor: str | None = None, dedupe_key: str | None = None
) -> CordPull:
    """Resume a feature a monitor stopped, once it has recovered (``resume: on_recovery``); audited like a pull.

    A feature stopped by someone else (a person, Alertmanager, another monitor) stays stopped: theirs to resume.
    """
    require_feature(ws, feature)
    who = actor_name(actor)
    claim = PullClaim(dedupe_key or new_id("cord"), "resume", feature, who, reason, monitor)
    pull = await asyncio.to_thread(ws.store.claim_pull, claim)
    if pull.status == "done":
        return _as_pull(pull)
    latest = await asyncio.to_thread(ws.store.latest_feature_event, feature, STOP_KINDS)
    if latest is None or latest.kind != "stopped":
        details = {"resumed": False, "summary": t("watch.cord.not_stopped", feature=feature)}
    elif latest.actor != who:
        details = {"resumed": False, "summary": t("watch.cord.stopped_by_other", feature=feature, actor=latest.actor)}
    else:
        event = await asyncio.to_thread(resume_feature, ws, feature, reason=reason, actor=who)
        details = {
            "resumed": event is not None,
            "event_id": event.id if event is not None else None,
            "summary": t("watch.cord.resumed", feature=feature),
        }
        details["incident_id"] = await asyncio.to_thread(_stopped_by, ws, feature, who)
    resumed_of = details.get("incident_id")
    done = await asyncio.to_thread(
        ws.store.finish_pull, pull.id, incident_id=resumed_of if isinstance(resumed_of, str) else None, details=details
    )
    return _as_pull(done)


def _stopped_by(ws: Workspace, feature: str, actor: str) -> str | None:
    """The incident of the newest stop ``actor`` pulled on ``feature``, if it opened one."""
    stops = [p for p in ws.store.cord_pulls(feature=feature, status="done") if p.action == "stop" and p.actor == actor]
    return stops[-1].incident_id if stops else None


def _incident_of_stop(ws: Workspace, feature: str, stop_event_id: int) -> str | None:
    """The incident opened by the pull that made stop event ``stop_event_id``; None for a stop without a pull
    (``andon stop --no-incident``), so a resume never lands on an older, unrelated incident."""
    pulls = ws.store.cord_pulls(feature=feature, status="done")
    return next((p.incident_id for p in reversed(pulls) if p.details.get("event_id") == stop_event_id), None)


async def _act(
    ws: Workspace, pull: CordPullRecord, spec: ActionConfig | None, incident_id: str | None
) -> dict[str, Any]:
    """Do the pull's action once; what was done, with a one-line ``summary`` for the incident."""
    feature = pull.feature
    if pull.action == "stop":
        event = await asyncio.to_thread(stop_feature, ws, feature, reason=pull.reason, actor=pull.actor)
        if event is None:
            latest = await asyncio.to_thread(ws.store.latest_feature_event, feature, STOP_KINDS)
            by = latest.actor if latest is not None else "?"
            return {"stopped": True, "already_stopped": True, "by": by,
                    "summary": t("watch.cord.already_stopped", feature=feature, actor=by)}  # fmt: skip
        return {"stopped": True, "already_stopped": False, "event_id": event.id,
                "summary": t("watch.cord.stopped", feature=feature)}  # fmt: skip
    if pull.action == "rollback":
        latest_live = await asyncio.to_thread(ws.store.latest_live, feature)
        if (
            latest_live is not None
            and latest_live.action == "rollback"
            and latest_live.actor == pull.actor
            and latest_live.created_at >= pull.created_at
        ):
            record = latest_live  # rolled back by this very pull before it was cut short
        else:
            try:
                record = await asyncio.to_thread(rollback, ws, feature, actor=pull.actor, reason=pull.reason)
            except AndonError as exc:
                raise CordError(exc.message, where=f"rollback {feature}", hint=exc.hint) from None
        return {"version_id": record.version_id, "version_name": record.version_name, "live_row": record.id,
                "summary": t("watch.cord.rolled_back", feature=feature, version=record.version_name)}  # fmt: skip
    if pull.action == "rollout":
        rollout_id = pull.params.get("rollout")
        if not isinstance(rollout_id, str):
            raise CordError(t("rollout.cord.no_rollout", feature=feature), where=f"cord {feature}")
        canary = await asyncio.to_thread(degrade, ws, rollout_id, actor=pull.actor, reason=pull.reason)
        return {"rollout": canary.id, "status": canary.status, "stable": canary.stable_name,
                "summary": t("rollout.cord.back_to_stable", feature=feature, version=canary.stable_name,
                             canary=canary.canary_name)}  # fmt: skip
    assert spec is not None and spec.url is not None
    payload = flag_payload(spec.flag or feature, pull, incident_id)
    headers = {"Idempotency-Key": f"{pull.dedupe_key}:webhook", **spec.headers}
    try:
        async with httpx.AsyncClient(timeout=spec.timeout_s) as client:
            response = await client.request(spec.method, spec.url, json=payload, headers=headers)
    except httpx.HTTPError as exc:
        raise CordError(
            t("watch.cord.webhook_unreachable", url=spec.url, error=f"{type(exc).__name__}: {exc}")
        ) from None
    if response.status_code >= 400:
        raise CordError(t("watch.cord.webhook_status", url=spec.url, status=response.status_code))
    return {"webhook": spec.url, "status": response.status_code, "flag": payload["flagKey"],
            "summary": t("watch.cord.webhook_done", flag=payload["flagKey"], url=spec.url)}  # fmt: skip


def flag_payload(flag: str, pull: CordPullRecord, incident_id: str | None) -> dict[str, Any]:
    """The webhook body: an OpenFeature-style resolution (flag off, reason DISABLED) with andon's context.

    ``flagKey``/``value``/``variant``/``reason``/``flagMetadata`` follow OpenFeature's evaluation details;
    ``enabled: false`` is what Unleash- and Flagsmith-style toggles read.
    """
    return {
        "flagKey": flag,
        "value": False,
        "enabled": False,
        "variant": "off",
        "reason": "DISABLED",
        "flagMetadata": {
            "source": "andon",
            "feature": pull.feature,
            "monitor": pull.monitor,
            "actor": pull.actor,
            "incidentId": incident_id,
            "dedupeKey": pull.dedupe_key,
            "detectedAt": pull.params.get("detected_at"),
            "runbook": pull.params.get("runbook"),
        },
        "message": pull.reason,
    }


def _webhook_spec(ws: Workspace, feature: str, actions: list[ActionConfig], url: str | None) -> ActionConfig:
    """The webhook to call: the monitor's webhook action (the one with ``url``, if given), or ``url`` plainly."""
    hooks = [a for a in actions if a.type == "webhook"]
    for hook in hooks:
        if url is None or hook.url == url:
            return hook
    if url is None or not url.startswith(("http://", "https://")):
        raise ConfigError(
            t("watch.cord.no_webhook", feature=feature), where="webhook", hint=t("watch.cord.webhook_hint")
        )
    return ActionConfig(type="webhook", url=url)


def _as_pull(pull: CordPullRecord) -> CordPull:
    return CordPull(
        feature=pull.feature,
        action=pull.action,
        actor=pull.actor,
        reason=pull.reason,
        at=pull.done_at or pull.created_at,
        incident_id=pull.incident_id,
        details=dict(pull.details),
    )
