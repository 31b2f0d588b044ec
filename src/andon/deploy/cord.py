"""The manual Andon cord: stop a feature (its calls go to the human review queue) and resume it, audited."""

from __future__ import annotations

from andon.deploy._common import actor_name, clean_reason, require_feature
from andon.errors import ConfigError
from andon.store.deploy import CASES_KINDS, STOP_KINDS, FeatureEvent
from andon.workspace import Workspace


def stop_feature(ws: Workspace, feature: str, *, reason: str | None, actor: str | None = None) -> FeatureEvent | None:
    """Pull the cord: the gateway sends the feature's calls to the human queue. None if it was stopped already."""
    require_feature(ws, feature)
    why = clean_reason(reason)
    if why is None:
        raise ConfigError("stopping a feature needs a reason", hint=f"andon stop {feature} --reason 'what is wrong'")
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
    return ws.store.record_feature_event(
        feature, "resumed", {"stopped": False}, actor_name(actor), clean_reason(reason)
    )


def state_events(ws: Workspace, feature: str) -> list[FeatureEvent]:
    """The feature's stop/resume and data-use events, oldest first."""
    require_feature(ws, feature)
    return ws.store.feature_events(feature, STOP_KINDS + CASES_KINDS)
