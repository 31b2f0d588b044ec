"""Whether a feature's production inputs may become test cases: off until an admin allows it, audited."""

from __future__ import annotations

from andon.deploy._common import actor_name, clean_reason, require_feature
from andon.errors import ConfigError
from andon.messages import t
from andon.store.deploy import FeatureEvent
from andon.workspace import Workspace


def set_cases_allowed(
    ws: Workspace, feature: str, allowed: bool, *, reason: str | None, actor: str | None = None
) -> FeatureEvent | None:
    """Allow (or deny) turning the feature's production traces into test cases. None if unchanged."""
    require_feature(ws, feature)
    why = clean_reason(reason)
    if allowed and why is None:
        raise ConfigError(
            t("house3.deploy.cases_reason"),
            hint=t("house3.deploy.cases_reason_hint", feature=feature),
        )
    if ws.store.cases_allowed(feature) == allowed:
        return None
    kind = "cases_allowed" if allowed else "cases_denied"
    return ws.store.record_feature_event(feature, kind, {"cases_allowed": allowed}, actor_name(actor), why)
