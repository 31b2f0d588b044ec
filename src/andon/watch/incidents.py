"""Incidents: the seven stages, each with its time and actor, a timeline, impact, similar past incidents.

Opened when the cord is pulled (``andon.deploy.cord.pull_cord``), by Alertmanager, or by hand. Every change
is one store transaction with its timeline entries and its outbox rows, so each stage notifies once.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from andon.config.schema import INCIDENT_STAGES
from andon.errors import AndonError, NotFoundError
from andon.messages import t
from andon.store.incidents import IncidentEventRecord, IncidentRecord, NewEvent
from andon.store.models import utcnow
from andon.store.outbox import OutboxRecord
from andon.store.records import new_id
from andon.watch.impact import Impact, assess_impact
from andon.watch.outbox import deliver_due, notifications_for
from andon.workspace import Workspace

STAGES = INCIDENT_STAGES
DECISIONS = ("resume", "rollback", "stay_stopped")
EVENT_KINDS = ("stage", "note", "cord", "alert_firing", "alert_resolved")
SIMILARITY = "character-bigram and word overlap (Jaccard) of the cause, or the title while no cause is known"
_STAGE_FIELDS: dict[str, frozenset[str]] = {
    "detected": frozenset(),
    "mitigated": frozenset({"action", "mitigation"}),
    "announced": frozenset(),
    "confirmed": frozenset({"false_alarm", "cause"}),
    "impact_assessed": frozenset({"impact", "window_start", "window_end"}),
    "decided": frozenset({"decision"}),
    "closed": frozenset(),
}
_RETRIES = 8  # optimistic updates: another process changing the same incident makes us read again

IncidentEvent = IncidentEventRecord


class IncidentError(AndonError):
    """A stage change that cannot be made (backwards, unknown, missing what the stage needs)."""


@dataclass(frozen=True)
class Incident:
    """Plain record crossing the store's edge; ``stages`` maps each reached stage to when it was reached."""

    id: str
    feature: str
    title: str
    stage: str
    monitor: str | None
    metric: str | None
    opened_at: datetime
    closed_at: datetime | None
    false_alarm: bool | None
    cause: str | None
    decision: str | None
    runbook: str | None
    owner: str | None
    details: dict[str, Any]
    stages: dict[str, datetime]
    actors: dict[str, str] = field(default_factory=dict)  # stage -> who moved it there
    dedupe_key: str | None = None

    @property
    def is_open(self) -> bool:
        """Not closed yet."""
        return self.closed_at is None

    @property
    def impact(self) -> Impact | None:
        """The impact recorded at ``impact_assessed``."""
        data = self.details.get("impact")
        return Impact.from_json(data) if isinstance(data, dict) else None

    @property
    def started_at(self) -> datetime | None:
        """When the anomaly began, if the detector said so (``details.started_at``)."""
        value = self.details.get("started_at")
        return datetime.fromisoformat(value) if isinstance(value, str) else None

    @property
    def time_to_detect(self) -> timedelta | None:
        """From the anomaly's start to its detection."""
        start, detected = self.started_at, self.stages.get("detected")
        return detected - start if start is not None and detected is not None else None

    @property
    def time_to_mitigate(self) -> timedelta | None:
        """From detection to the temporary action (the cord)."""
        detected, mitigated = self.stages.get("detected"), self.stages.get("mitigated")
        return mitigated - detected if detected is not None and mitigated is not None else None


def open_incident(
    ws: Workspace,
    *,
    feature: str,
    title: str,
    actor: str,
    detected_at: datetime,
    monitor: str | None = None,
    metric: str | None = None,
    dedupe_key: str | None = None,
    runbook: str | None = None,
    owner: str | None = None,
    details: dict[str, Any] | None = None,
) -> Incident:
    """Open (or return the still-open incident with the same dedupe_key); stage `detected`; notifies."""
    if feature not in ws.config.features:
        known = ", ".join(ws.config.features) or "none"
        raise NotFoundError(
            t("incidents.error.no_feature", feature=feature), hint=t("incidents.hint.known", known=known)
        )
    _aware(detected_at, "detected_at")
    if not title.strip():
        raise IncidentError(t("incidents.error.no_title"), hint=t("incidents.hint.title"))
    incident_id = new_id("inc")
    stages = {"detected": _mark(detected_at, actor)}
    values: dict[str, Any] = {
        "id": incident_id,
        "feature": feature,
        "title": title.strip(),
        "stage": "detected",
        "monitor": monitor,
        "metric": metric,
        "dedupe_key": dedupe_key,
        "open_key": dedupe_key,
        "opened_at": utcnow(),
        "closed_at": None,
        "false_alarm": None,
        "cause": None,
        "decision": None,
        "runbook": runbook,
        "owner": owner,
        "details": dict(details or {}),
        "stages": stages,
    }
    draft = _from_values(values)
    event = NewEvent(kind="stage", stage="detected", actor=actor, at=detected_at, text=title.strip())
    notes = notifications_for(ws.config, _payload(ws, draft, "detected", actor, detected_at, None))
    record, _created = ws.store.create_incident(values, [event], notes, due=detected_at)
    return _incident(record)


def advance(
    ws: Workspace,
    incident_id: str,
    stage: str,
    *,
    actor: str,
    note: str | None = None,
    at: datetime | None = None,
    **fields: Any,
) -> Incident:
    """Move to `stage` (never backwards; `mitigated` may be recorded by the cord right after detection);
    fields per stage: confirmed -> false_alarm: bool, cause: str; decided -> decision: resume|rollback|stay_stopped;
    impact_assessed -> computed from traces if not given. Each stage notifies once (outbox, deduplicated)."""
    if stage not in STAGES:
        raise IncidentError(
            t("incidents.error.unknown_stage", stage=stage), hint=t("incidents.hint.stages", stages=", ".join(STAGES))
        )
    unknown = sorted(set(fields) - _STAGE_FIELDS[stage])
    if unknown:
        allowed = ", ".join(sorted(_STAGE_FIELDS[stage])) or "-"
        raise IncidentError(
            t("incidents.error.fields", stage=stage, fields=", ".join(unknown)),
            hint=t("incidents.hint.fields", allowed=allowed),
        )
    when = at or utcnow()
    _aware(when, "at")
    for _attempt in range(_RETRIES):
        record = ws.store.get_incident(incident_id)
        current = _incident(record)
        if stage in current.stages:
            extra = _repeat_events(current, stage, actor, when, note, fields)
            if extra:
                ws.store.add_incident_events(current.id, extra)
            return current
        changes, events = _stage_change(ws, current, stage, actor, when, note, fields)
        updated = _from_values({**_values(record), **changes})
        payload = _payload(ws, updated, stage, actor, when, note)
        result = ws.store.update_incident(
            record.id, record.revision, changes, events, notifications_for(ws.config, payload), due=when
        )
        if result is not None:
            return _incident(result)
    raise IncidentError(t("incidents.error.busy", id=incident_id), hint=t("incidents.hint.retry"))


def announce(ws: Workspace, incident_id: str, *, notifier: str, at: datetime) -> Incident | None:
    """Stage ``announced``, reached when the incident's first notification is delivered (actor: its notifier).

    None when there is nothing to record: announced already, moved past it by a person, or closed.
    """
    current = get_incident(ws, incident_id)
    if "announced" in current.stages or not current.is_open or STAGES.index(current.stage) > STAGES.index("announced"):
        return None
    # No note: a second deliverer racing to announce must not leave a second entry in the timeline.
    return advance(ws, current.id, "announced", actor=f"notifier:{notifier}", at=at)


async def deliver(ws: Workspace, *, now: datetime | None = None) -> int:
    """Deliver the outbox's due notifications (``watch.outbox.deliver_due``); the first one delivered for an
    incident announces it (stage ``announced``). Returns how many were delivered."""

    announced: list[Incident] = []

    async def on_delivered(row: OutboxRecord, at: datetime) -> None:
        try:
            done = await asyncio.to_thread(announce, ws, row.incident_id, notifier=row.notifier, at=at)
        except IncidentError:
            return  # closed or moved on meanwhile: nothing left to announce
        if done is not None:
            announced.append(done)

    delivered = 0
    while True:
        announced.clear()
        delivered += await deliver_due(ws, now=now, on_delivered=on_delivered)
        if not announced:
            return delivered  # else the `announced` notifications just written are due too: one more round


def add_note(ws: Workspace, incident_id: str, text: str, *, actor: str, at: datetime | None = None) -> IncidentEvent:
    """Append a note to the timeline (no stage change, no notification)."""
    if not text.strip():
        raise IncidentError(t("incidents.error.empty_note"), hint=t("incidents.hint.note"))
    return record_event(ws, incident_id, "note", actor=actor, text=text.strip(), at=at)


def record_event(
    ws: Workspace,
    incident_id: str,
    kind: str,
    *,
    actor: str,
    text: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> IncidentEvent:
    """Append a timeline entry: a note, a cord pull, an alert firing again or resolved."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown incident event {kind!r}; known: {', '.join(EVENT_KINDS)}")
    when = at or utcnow()
    _aware(when, "at")
    record = ws.store.get_incident(incident_id)
    event = NewEvent(kind=kind, actor=actor, at=when, text=text, data=dict(data or {}))
    return ws.store.add_incident_events(record.id, [event])[0]


def get_incident(ws: Workspace, ref: str) -> Incident:
    """The incident with id ``ref`` (or a unique prefix of at least 6 characters)."""
    return _incident(ws.store.get_incident(ref))


def list_incidents(
    ws: Workspace, *, feature: str | None = None, open_only: bool = False, limit: int = 100
) -> list[Incident]:
    """Incidents, newest first."""
    return [_incident(r) for r in ws.store.list_incidents(feature=feature, open_only=open_only, limit=limit)]


def timeline(ws: Workspace, incident_id: str) -> list[IncidentEvent]:
    """Stage changes, notes, cord pulls and alerts of one incident, oldest first."""
    return ws.store.incident_events(ws.store.get_incident(incident_id).id)


def similar_incidents(ws: Workspace, incident: Incident, *, limit: int = 5) -> list[tuple[Incident, float]]:
    """Past incidents of the same feature, monitor or metric, nearest first by the text of their cause."""
    others = ws.store.related_incidents(
        feature=incident.feature,
        monitor=incident.monitor,
        metric=incident.metric,
        exclude=incident.id,
        before=incident.opened_at,  # only the past helps
        limit=200,  # the newest 200 related ones are plenty to rank, and keep the incident page fast
    )
    mine = _tokens(incident.cause or incident.title)
    ranked: list[tuple[float, int, datetime, Incident]] = []
    for record in others:
        other = _incident(record)
        same = sum(
            (
                other.feature == incident.feature,
                incident.monitor is not None and other.monitor == incident.monitor,
                incident.metric is not None and other.metric == incident.metric,
            )
        )
        ranked.append((_jaccard(mine, _tokens(other.cause or other.title)), same, other.opened_at, other))
    ranked.sort(key=lambda r: (r[0], r[1], r[2]), reverse=True)
    return [(r[3], round(r[0], 4)) for r in ranked[:limit]]


def false_alarm_counts(ws: Workspace) -> dict[str, int]:
    """Monitor -> incidents of it confirmed as false alarms (the backtest shows them)."""
    return ws.store.false_alarm_counts()


# --- internals ----------------------------------------------------------------------------------------


def _stage_change(
    ws: Workspace, current: Incident, stage: str, actor: str, when: datetime, note: str | None, fields: dict[str, Any]
) -> tuple[dict[str, Any], list[NewEvent]]:
    """The column changes and timeline entries of reaching ``stage``."""
    if not current.is_open:
        raise IncidentError(t("incidents.error.closed", id=current.id), hint=t("incidents.hint.closed"))
    order = STAGES.index
    if order(stage) < order(current.stage) and stage != "mitigated":
        raise IncidentError(
            t("incidents.error.backwards", id=current.id, stage=stage, current=current.stage),
            hint=t("incidents.hint.backwards", next=", ".join(s for s in STAGES[order(current.stage) + 1 :])),
        )
    details = dict(current.details)
    changes: dict[str, Any] = {}
    data: dict[str, Any] = {}
    events: list[NewEvent] = []
    if stage == "mitigated":
        action = fields.get("action")
        if action is not None:
            data["action"] = str(action)
            events.append(NewEvent(kind="cord", actor=actor, at=when, text=note, data={"action": str(action)}))
        if fields.get("mitigation") is not None:
            details["mitigation"] = dict(fields["mitigation"])
    elif stage == "confirmed":
        false_alarm, cause = fields.get("false_alarm"), fields.get("cause")
        if not isinstance(false_alarm, bool) or not isinstance(cause, str) or not cause.strip():
            raise IncidentError(t("incidents.error.confirm_needs"), hint=t("incidents.hint.confirm", id=current.id))
        changes |= {"false_alarm": false_alarm, "cause": cause.strip()}
        data = {"false_alarm": false_alarm, "cause": cause.strip()}
    elif stage == "impact_assessed":
        impact = fields.get("impact")
        if impact is None:
            start = fields.get("window_start") or current.started_at or current.stages["detected"]
            end = fields.get("window_end") or when
            impact = assess_impact(ws, current.feature, start, end).to_json()
        elif isinstance(impact, Impact):
            impact = impact.to_json()
        details["impact"] = dict(impact)
        data = {"impact": dict(impact)}
    elif stage == "decided":
        decision = fields.get("decision")
        if decision not in DECISIONS:
            raise IncidentError(
                t("incidents.error.decision", decision=decision),
                hint=t("incidents.hint.decision", choices=", ".join(DECISIONS)),
            )
        changes["decision"] = decision
        data = {"decision": decision}
    elif stage == "closed":
        changes |= {"closed_at": when, "open_key": None}
    stages = {name: _mark(at, current.actors.get(name, "")) for name, at in current.stages.items()}
    stages[stage] = _mark(when, actor)
    newest = max(stages, key=order)
    changes |= {"stages": stages, "stage": newest, "details": details}
    events.insert(0, NewEvent(kind="stage", stage=stage, actor=actor, at=when, text=note, data=data))
    return changes, events


def _repeat_events(
    current: Incident, stage: str, actor: str, when: datetime, note: str | None, fields: dict[str, Any]
) -> list[NewEvent]:
    """A stage reached again changes nothing; a second cord pull and a note still enter the timeline."""
    events: list[NewEvent] = []
    if stage == "mitigated" and fields.get("action") is not None:
        events.append(NewEvent(kind="cord", actor=actor, at=when, text=note, data={"action": str(fields["action"])}))
    elif note:
        events.append(NewEvent(kind="note", actor=actor, at=when, text=note, data={"stage": stage}))
    return events


def _payload(
    ws: Workspace, incident: Incident, stage: str, actor: str, at: datetime, note: str | None
) -> dict[str, Any]:
    """What a notifier gets: the incident as it stands at this stage (plain JSON)."""
    impact = incident.details.get("impact")
    return {
        "incident_id": incident.id,
        "feature": incident.feature,
        "title": incident.title,
        "stage": stage,
        "stage_at": at.isoformat(),
        "actor": actor,
        "note": note,
        "summary": _summary(ws, incident, stage),
        "monitor": incident.monitor,
        "metric": incident.metric,
        "runbook": incident.runbook,
        "owner": incident.owner,
        "false_alarm": incident.false_alarm,
        "cause": incident.cause,
        "decision": incident.decision,
        "impact": impact if isinstance(impact, dict) else None,
        "stages": {name: when.isoformat() for name, when in incident.stages.items()},
    }


def _summary(ws: Workspace, incident: Incident, stage: str) -> str | None:
    """One line in the workspace's language saying what this stage found."""
    lang = ws.config.language
    if stage == "confirmed" and incident.false_alarm is not None:
        key = "incidents.summary.false_alarm" if incident.false_alarm else "incidents.summary.incident"
        return t(key, language=lang, cause=incident.cause or "")
    if stage == "impact_assessed" and isinstance(incident.details.get("impact"), dict):
        i = incident.details["impact"]
        cost = ", ".join(f"{v:.4g} {k}" for k, v in sorted(i.get("cost", {}).items())) or "0"
        counts = {name: i.get(name, 0) for name in ("calls", "users", "tenants", "errors")}
        return t("incidents.summary.impact", language=lang, people=i.get("to_people", 0), cost=cost, **counts)
    if stage == "decided" and incident.decision:
        return t(
            "incidents.summary.decided",
            language=lang,
            decision=t(f"incidents.decision.{incident.decision}", language=lang),
        )
    return None


def _mark(at: datetime, actor: str) -> dict[str, str]:
    return {"at": at.isoformat(), "actor": actor}


def _values(record: IncidentRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def _from_values(values: dict[str, Any]) -> Incident:
    stages_raw: dict[str, Any] = values.get("stages") or {}
    stages = {name: datetime.fromisoformat(mark["at"]) for name, mark in stages_raw.items()}
    return Incident(
        id=values["id"],
        feature=values["feature"],
        title=values["title"],
        stage=values["stage"],
        monitor=values.get("monitor"),
        metric=values.get("metric"),
        opened_at=values["opened_at"],
        closed_at=values.get("closed_at"),
        false_alarm=values.get("false_alarm"),
        cause=values.get("cause"),
        decision=values.get("decision"),
        runbook=values.get("runbook"),
        owner=values.get("owner"),
        details=dict(values.get("details") or {}),
        stages=dict(sorted(stages.items(), key=lambda item: STAGES.index(item[0]))),
        actors={name: str(mark.get("actor", "")) for name, mark in stages_raw.items()},
        dedupe_key=values.get("dedupe_key"),
    )


def _incident(record: IncidentRecord) -> Incident:
    return _from_values(_values(record))


def _aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got {value.isoformat()}")


_WORD = re.compile(r"\w+", re.UNICODE)


def _tokens(text: str) -> set[str]:
    """Words and the character bigrams inside them: Korean compounds match without a tokenizer."""
    out: set[str] = set()
    for word in _WORD.findall(text.lower()):
        out.add(word)
        out.update(word[i : i + 2] for i in range(len(word) - 1))
    return out


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
