"""Canary rollouts: a new version takes a growing share of a feature's traffic, step by step, judged at each.

``start_rollout`` passes the same gate as ``andon promote``; ``advance_rollout`` (the watcher calls it) judges
a step once it has been held long enough and moves on, pauses for a person, or sends the traffic back to the
stable version and pulls the cord (incident, notification). After the last step the canary is promoted and
its live-history row names the rollout. Every change is an audited event with its evidence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from andon.config.rollout import RolloutConfig
from andon.deploy._common import actor_name, clean_reason, require_feature
from andon.deploy.assignment import BUCKETS, Arm, Split
from andon.deploy.canary_analysis import Analysis, analyse
from andon.deploy.canary_analysis import Arm as Evidence
from andon.deploy.canary_state import degrade
from andon.deploy.cord import pull_cord
from andon.deploy.gate import evaluation_verdict
from andon.deploy.live import live_version
from andon.deploy.promotion import _refusal, promote
from andon.errors import AndonError, ConfigError
from andon.messages import t
from andon.store.deploy import STOP_KINDS
from andon.store.models import utcnow
from andon.store.records import new_id
from andon.store.rollouts import NewRolloutEvent, RolloutRecord
from andon.workspace import Workspace

__all__ = [
    "RolloutError",
    "StepResult",
    "abort_rollout",
    "advance_rollout",
    "degrade",
    "pause_rollout",
    "promote_rollout",
    "resume_rollout",
    "rollout_config",
    "rollout_status",
    "start_rollout",
    "traffic_split",
]

log = logging.getLogger("andon.deploy")


class RolloutError(AndonError):
    """A rollout cannot be started or changed as asked (none active, one active already, wrong state)."""


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one ``advance_rollout`` did: the rollout after it, and the analysis it judged (if a step ended)."""

    rollout: RolloutRecord
    decision: str  # waiting | next_step | promoted | failed | paused | aborted
    analysis: Analysis | None = None


def weight_bp(percent: float) -> int:
    """A step's weight in percent as basis points of the traffic (5 → 500)."""
    return max(0, min(BUCKETS, round(percent * BUCKETS / 100)))


def rollout_config(record: RolloutRecord) -> RolloutConfig:
    """The rollout settings it started with (later edits of andon.yaml do not change a running rollout)."""
    return RolloutConfig.model_validate(record.settings["config"])


def traffic_split(record: RolloutRecord | None, live_id: str | None) -> Split | None:
    """The split the gateway serves: canary first (so raising its weight only moves units to it), stable last.

    None unless the rollout is active (a paused one keeps its split) with traffic on the canary, and its stable
    version is what is live.
    """
    if record is None or not record.active or record.weight <= 0 or record.stable_id != live_id:
        return None
    arms = (Arm(record.canary_id, record.weight, "canary"), Arm(record.stable_id, BUCKETS - record.weight, "stable"))
    sticky = record.settings["config"].get("sticky", "user")  # read plainly: the gateway asks on every call
    return Split(record.feature, record.id, arms, sticky)


# --- a person's acts -------------------------------------------------------------------------------------


def start_rollout(
    ws: Workspace,
    feature: str,
    version_ref: str,
    *,
    force: bool = False,
    actor: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> RolloutRecord:
    """Start a canary of ``version_ref`` against the live version, at the first step of ``rollout:``.

    ``now`` is when its first step starts (default: the wall clock; the bench drives simulated time).
    """
    config = require_feature(ws, feature)
    who, why = actor_name(actor), clean_reason(reason)
    if config.rollout is None:
        raise ConfigError(t("rollout.no_config", feature=feature), where=f"features.{feature}.rollout",
                          hint=t("rollout.no_config_hint"))  # fmt: skip
    if force and why is None:
        raise ConfigError(t("rollout.force_reason"), where="--reason", hint=t("rollout.force_reason_hint"))
    state = live_version(ws, feature)
    if state.stopped:
        raise RolloutError(t("rollout.stopped", feature=feature), hint=t("rollout.stopped_hint", feature=feature))
    stable_id, stable_name = state.require()
    if (experiment := ws.store.active_experiment(feature)) is not None:  # one rollout or experiment at a time
        raise RolloutError(t("experiment.rollout_blocked", feature=feature, id=experiment.id))
    ws.sync_versions(feature)
    canary = ws.version(feature, version_ref)
    if canary.id == stable_id:
        raise RolloutError(t("rollout.same_version", version=canary.name, feature=feature))
    verdict = evaluation_verdict(ws, feature, canary)
    if not verdict.passed and not force:
        raise _refusal(feature, canary, verdict)
    steps = config.rollout.steps
    values: dict[str, Any] = {
        "id": new_id("ro"),
        "feature": feature,
        "stable_id": stable_id,
        "stable_name": stable_name,
        "canary_id": canary.id,
        "canary_name": canary.name,
        "status": "running",
        "step": 0,
        "weight": weight_bp(steps[0].weight),
        "step_started_at": now or utcnow(),
        "settings": {
            "config": config.rollout.model_dump(mode="json"),
            "forced": force and not verdict.passed,
            "run_id": verdict.run_id,
        },
        "actor": who,
        "reason": why,
    }
    event = NewRolloutEvent("started", 0, who, why, {"weight": steps[0].weight, "stable": stable_name,
                                                      "canary": canary.name, "run_id": verdict.run_id})  # fmt: skip
    created = ws.store.create_rollout(values, event)
    if created is None:
        active = ws.store.active_rollout(feature)
        raise RolloutError(
            t("rollout.active_already", feature=feature, id=active.id if active else "?"),
            hint=t("rollout.active_already_hint", feature=feature),
        )
    return created


def _active(ws: Workspace, feature: str) -> RolloutRecord:
    require_feature(ws, feature)
    record = ws.store.active_rollout(feature)
    if record is None:
        raise RolloutError(
            t("rollout.none_active", feature=feature), hint=t("rollout.none_active_hint", feature=feature)
        )
    return record


def _change(
    ws: Workspace, feature: str, allowed: tuple[str, ...], changes: dict[str, Any], event: NewRolloutEvent
) -> RolloutRecord:
    """A person's change of the active rollout, retried once if the watcher changed it meanwhile."""
    for _attempt in range(3):
        record = _active(ws, feature)
        if record.status not in allowed:
            raise RolloutError(t("rollout.wrong_state", id=record.id, status=record.status, allowed=", ".join(allowed)))
        stamped = NewRolloutEvent(event.kind, record.step, event.actor, event.text, event.data)
        done = ws.store.change_rollout(record.id, record.revision, changes, [stamped])
        if done is not None:
            return done
    raise RolloutError(t("rollout.busy", feature=feature))


def pause_rollout(ws: Workspace, feature: str, *, actor: str | None = None, reason: str | None = None) -> RolloutRecord:
    """Hold the rollout where it is: the canary keeps its share, no step is judged until it is resumed."""
    return _change(ws, feature, ("running",), {"status": "paused"},
                   NewRolloutEvent("paused", 0, actor_name(actor), clean_reason(reason)))  # fmt: skip


def resume_rollout(
    ws: Workspace, feature: str, *, actor: str | None = None, reason: str | None = None
) -> RolloutRecord:
    """Go on from a pause: the current step starts a fresh window (its hold and calls counted again)."""
    if ws.store.feature_stopped(feature)[0]:
        raise RolloutError(t("rollout.stopped", feature=feature), hint=t("rollout.stopped_hint", feature=feature))
    return _change(ws, feature, ("paused",), {"status": "running", "step_started_at": utcnow()},
                   NewRolloutEvent("resumed", 0, actor_name(actor), clean_reason(reason)))  # fmt: skip


def abort_rollout(ws: Workspace, feature: str, *, actor: str | None = None, reason: str | None = None) -> RolloutRecord:
    """End the rollout: every unit goes back to the stable version; nothing is promoted."""
    why = clean_reason(reason)
    if why is None:
        raise ConfigError(
            t("rollout.abort_reason"), where="--reason", hint=t("rollout.abort_reason_hint", feature=feature)
        )
    return _change(ws, feature, ("running", "paused"), {"status": "aborted", "weight": 0},
                   NewRolloutEvent("aborted", 0, actor_name(actor), why))  # fmt: skip


def promote_rollout(
    ws: Workspace, feature: str, *, actor: str | None = None, reason: str | None = None
) -> RolloutRecord:
    """Skip the remaining steps: promote the canary now (a person's call, recorded as such)."""
    record = _active(ws, feature)
    return _finish_promoted(ws, record, actor_name(actor), clean_reason(reason), skipped=True)


def _finish_promoted(
    ws: Workspace,
    record: RolloutRecord,
    actor: str,
    reason: str | None,
    *,
    skipped: bool,
    evidence: dict[str, Any] | None = None,
) -> RolloutRecord:
    why = reason or t("rollout.promoted_reason", id=record.id, steps=len(rollout_config(record).steps))
    result = promote(
        ws, record.feature, record.canary_id, force=True, actor=actor, reason=f"rollout {record.id}: {why}"
    )
    live_row = result.record.id if result.record is not None else None
    data = {"live_row": live_row, "skipped_steps": skipped, "analysis": evidence}
    changes = {"status": "promoted", "weight": BUCKETS, "live_row_id": live_row}
    for _attempt in range(3):
        event = NewRolloutEvent("promoted", record.step, actor, why, data)
        done = ws.store.change_rollout(record.id, record.revision, changes, [event])
        if done is not None:
            return done
        record = ws.store.get_rollout(record.id)
    raise RolloutError(t("rollout.busy", feature=record.feature))


def rollout_status(ws: Workspace, feature: str) -> tuple[RolloutRecord | None, list[Any]]:
    """The feature's newest rollout (active or not) and its events, oldest first."""
    require_feature(ws, feature)
    rollouts = ws.store.list_rollouts(feature)
    if not rollouts:
        return None, []
    return rollouts[0], ws.store.rollout_events(rollouts[0].id)


# --- the watcher's step ------------------------------------------------------------------------------------


async def advance_rollout(ws: Workspace, record: RolloutRecord, now: datetime | None = None) -> StepResult:
    """Judge the rollout's step if it has been held long enough, and act on the outcome."""
    at = now or utcnow()
    actor = f"rollout:{record.id}"
    if record.status != "running":
        return StepResult(record, "waiting")
    stop = ws.store.latest_feature_event(record.feature, STOP_KINDS)
    if stop is not None and stop.kind == "stopped":
        return _end(ws, record, "aborted", "feature_stopped", actor, t("rollout.feature_stopped", by=stop.actor))
    live = ws.store.live_version(record.feature)
    if live is None or live[0] != record.stable_id:
        return _end(ws, record, "aborted", "live_changed", actor, t("rollout.live_changed"))
    config = rollout_config(record)
    step = config.steps[record.step]
    start = record.step_started_at
    if step.hold is not None and at < start + timedelta(seconds=step.hold):
        return StepResult(record, "waiting")
    if step.calls is not None and ws.store.rollout_calls(record.feature, record.canary_id, start, at) < step.calls:
        return StepResult(record, "waiting")
    # Both versions need the metrics' fewest samples: judged sooner, the short arm is NoData and a fine canary
    # pauses only because the split's hash gave stable (at a high weight) a few users too few.
    fewest = max((m.min_samples for m in config.metrics), default=0)
    if any(ws.store.rollout_calls(record.feature, v, start, at) < fewest for v in (record.canary_id, record.stable_id)):
        return StepResult(record, "waiting")
    analysis = analyse(config, _evidence(ws, record, record.canary_id, start, at),
                       _evidence(ws, record, record.stable_id, start, at))  # fmt: skip
    evidence = analysis.to_json() | {"window": [start.isoformat(), at.isoformat()], "weight": step.weight}
    judged = NewRolloutEvent("analysis", record.step, actor, analysis.outcome, evidence)
    if analysis.outcome == "Successful" and record.step + 1 < len(config.steps):
        following = config.steps[record.step + 1]
        changes = {"step": record.step + 1, "weight": weight_bp(following.weight), "step_started_at": at}
        moved = NewRolloutEvent("step", record.step + 1, actor, None, {"weight": following.weight})
        done = ws.store.change_rollout(record.id, record.revision, changes, [judged, moved])
        return StepResult(done or ws.store.get_rollout(record.id), "next_step" if done else "waiting", analysis)
    if analysis.outcome == "Successful":
        ws.store.change_rollout(record.id, record.revision, {}, [judged])
        promoted = _finish_promoted(ws, ws.store.get_rollout(record.id), actor, None, skipped=False, evidence=evidence)
        return StepResult(promoted, "promoted", analysis)
    if analysis.outcome == "Inconclusive":
        paused = NewRolloutEvent("inconclusive", record.step, actor, t("rollout.inconclusive", score=_score(analysis)))
        done = ws.store.change_rollout(record.id, record.revision, {"status": "paused"}, [judged, paused])
        return StepResult(done or ws.store.get_rollout(record.id), "paused" if done else "waiting", analysis)
    failing = ", ".join(r.metric for r in analysis.results if r.passed is False)
    why = t("rollout.failed_reason", id=record.id, step=record.step + 1, score=_score(analysis), metrics=failing or "-")
    failed = NewRolloutEvent("failed", record.step, actor, why, {"metrics": failing})
    done = ws.store.change_rollout(record.id, record.revision, {"status": "degraded", "weight": 0}, [judged, failed])
    if done is None:
        return StepResult(ws.store.get_rollout(record.id), "waiting", analysis)
    # The traffic is back on stable already; the cord records it: an incident, mitigated, and its notifications.
    await pull_cord(ws, record.feature, action="rollout", actor=actor, reason=why, detected_at=at,
                    dedupe_key=f"rollout:{record.id}:failed", rollout=record.id)  # fmt: skip
    return StepResult(ws.store.get_rollout(record.id), "failed", analysis)


def _end(ws: Workspace, record: RolloutRecord, status: str, kind: str, actor: str, why: str) -> StepResult:
    done = ws.store.change_rollout(record.id, record.revision, {"status": status, "weight": 0},
                                   [NewRolloutEvent(kind, record.step, actor, why)])  # fmt: skip
    return StepResult(done or ws.store.get_rollout(record.id), "aborted" if done else "waiting")


def _evidence(ws: Workspace, record: RolloutRecord, version_id: str, start: datetime, end: datetime) -> Evidence:
    samples = ws.store.rollout_samples(record.feature, [version_id], start, end)
    feedback = [negative for _, negative in ws.store.rollout_feedback(record.feature, [version_id], start, end)]
    return Evidence(samples, feedback)


def _score(analysis: Analysis) -> str:
    return "-" if analysis.score is None else f"{analysis.score:g}"
