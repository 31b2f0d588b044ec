"""The one answer to "which version does this feature serve?", for the gateway, the CLI and promotion.

Nothing is live until someone promotes a version (or andon.yaml names one in ``serve.live`` that passes
the same gate as ``andon promote``). Declaring a new version never changes what serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from andon.deploy._common import require_feature
from andon.deploy.gate import JudgementMemo, Verdict, evaluation_verdict
from andon.errors import AndonError, NotFoundError
from andon.messages import t
from andon.store.deploy import STOP_KINDS, LiveRecord
from andon.versions.canonical import Version, build_version, version_from_content
from andon.workspace import Workspace

Source = Literal["promoted", "serve.live"]


class NotLiveError(AndonError):
    """A call needs the feature's live version, and nothing is live (never promoted, no passing ``serve.live``)."""

    def __init__(self, feature: str, why: str) -> None:
        super().__init__(
            t("deploy.not_live.error", why=why),
            where=f"features.{feature}",
            hint=t("deploy.not_live.hint", feature=feature),
        )
        self.feature = feature


@dataclass(frozen=True, slots=True)
class LiveState:
    """The version a feature serves now (None: nothing is live, and why), and whether it is stopped."""

    feature: str
    version_id: str | None
    version_name: str | None
    source: Source | None
    record: LiveRecord | None  # the history row that made it live (None for serve.live)
    stopped: bool
    stop_reason: str | None
    why_not: str | None = None  # when nothing is live
    verdict: Verdict | None = None  # serve.live's gate verdict, when it was consulted
    stopped_by: str | None = None  # who stopped it (a person, ``monitor:NAME``, ``alertmanager``), while stopped

    def require(self) -> tuple[str, str]:
        """(id, name) of the live version, or NotLiveError saying how to make one live."""
        if self.version_id is None or self.version_name is None:
            raise NotLiveError(self.feature, self.why_not or t("deploy.not_live.never_promoted"))
        return self.version_id, self.version_name


def live_version(ws: Workspace, feature: str, *, memo: JudgementMemo | None = None) -> LiveState:
    """What ``feature`` serves: its newest promotion or rollback, else ``serve.live`` if the gate passes it."""
    config = require_feature(ws, feature)
    event = ws.store.latest_feature_event(feature, STOP_KINDS)
    stopped = event is not None and event.kind == "stopped"
    stop_reason, by = (event.reason, event.actor) if stopped and event is not None else (None, None)
    row = ws.store.latest_live(feature)
    if row is not None:
        return LiveState(
            feature, row.version_id, row.version_name, "promoted", row, stopped, stop_reason, stopped_by=by
        )
    ref = config.serve.live
    if ref is None:
        why = t("deploy.not_live.never_promoted")
        return LiveState(feature, None, None, None, None, stopped, stop_reason, why_not=why, stopped_by=by)
    version = _configured(ws, feature, ref)
    verdict = evaluation_verdict(ws, feature, version, memo=memo)
    if not verdict.passed:
        why = t("deploy.not_live.serve_live_refused", version=version.name, why="; ".join(verdict.failing))
        return LiveState(
            feature, None, None, None, None, stopped, stop_reason, why_not=why, verdict=verdict, stopped_by=by
        )
    return LiveState(
        feature, version.id, version.name, "serve.live", None, stopped, stop_reason, verdict=verdict, stopped_by=by
    )


def _configured(ws: Workspace, feature: str, ref: str) -> Version:
    """The version ``serve.live`` names, found without writing to the store (the gateway asks on every call)."""
    spec = ws.config.features[feature].versions.get(ref)
    if spec is not None:
        return build_version(feature, ref, spec, ws.config)
    try:
        record = ws.store.get_version(feature, ref)
    except NotFoundError as exc:
        exc.where = f"features.{feature}.serve.live"
        raise
    return version_from_content(feature, record.name, record.content)
