"""Promotion gated by the latest evaluation, rollback, and the live-version history.

Every change appends a row to ``live_versions`` naming who did it and why, and which criteria it was
judged on; nothing is overwritten, so the history answers "what was live at 14:03, and who decided so?".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from andon.deploy._common import actor_name, clean_reason, require_feature
from andon.deploy.gate import Verdict, evaluation_verdict
from andon.errors import AndonError, ConfigError
from andon.messages import t
from andon.store.deploy import LiveRecord
from andon.versions.canonical import Version
from andon.workspace import Workspace


class PromotionRefused(AndonError):
    """The version failed its latest evaluation, was never evaluated, or was evaluated under other criteria.

    ``--force --reason`` overrides it, and the promotion is recorded as forced.
    """

    exit_code = 1  # a gate failed, as with `andon eval --gate`

    def __init__(self, message: str, *, run_id: str | None, failing: Sequence[str], hint: str) -> None:
        super().__init__(message, hint=hint)
        self.run_id = run_id
        self.failing = list(failing)


@dataclass(frozen=True, slots=True)
class PromotionResult:
    """What ``promote`` did: the new history row (None when the version was live already) and why."""

    feature: str
    version_id: str
    version_name: str
    verdict: Verdict
    record: LiveRecord | None
    previous: tuple[str, str] | None  # (id, name) live before, if anything had been promoted

    @property
    def changed(self) -> bool:
        """False when the version was live already."""
        return self.record is not None


def promote(
    ws: Workspace,
    feature: str,
    version_ref: str,
    *,
    force: bool = False,
    actor: str | None = None,
    reason: str | None = None,
) -> PromotionResult:
    """Make a version live if its latest evaluation passed the criteria it was run under.

    ``force`` (with a reason) overrides a refusal; the row records it, with both sets of criteria.
    """
    require_feature(ws, feature)
    reason = clean_reason(reason)
    if force and reason is None:
        raise ConfigError(
            t("polish.promote.force_needs_reason"),
            hint=t("polish.promote.force_needs_reason_hint", feature=feature, version=version_ref),
        )
    ws.sync_versions(feature)  # what goes live is found by id in the store from now on
    version = ws.version(feature, version_ref)
    verdict = evaluation_verdict(ws, feature, version)
    previous = ws.store.live_version(feature)
    if not verdict.passed and not force:
        raise _refusal(feature, version, verdict)
    if previous is not None and previous[0] == version.id:
        return PromotionResult(feature, version.id, version.name, verdict, None, previous)
    record = ws.store.record_live(
        feature,
        version.id,
        version.name,
        action="promote",
        actor=actor_name(actor),
        forced=force and not verdict.passed,
        reason=reason,
        run_id=verdict.run_id,
        criteria=verdict.criteria_record,
        criteria_sha256=verdict.criteria_sha256,
        run_criteria_sha256=verdict.run_criteria_sha256,
    )
    return PromotionResult(feature, version.id, version.name, verdict, record, previous)


def rollback(ws: Workspace, feature: str, *, actor: str | None = None, reason: str | None = None) -> LiveRecord:
    """Serve again the version that was live before the current one (a new history row, nothing erased)."""
    require_feature(ws, feature)
    stack = live_stack(ws.store.live_history(feature))
    if len(stack) < 2:
        current = (
            t("polish.rollback.only", name=stack[-1][1], id=stack[-1][0][:12])
            if stack
            else t("polish.rollback.nothing")
        )
        raise AndonError(
            t("polish.rollback.cannot", feature=feature, current=current),
            hint=t("polish.rollback.hint", feature=feature),
        )
    version_id, name = stack[-2]
    return ws.store.record_live(
        feature, version_id, name, action="rollback", actor=actor_name(actor), reason=clean_reason(reason)
    )


def live_stack(history: Sequence[LiveRecord]) -> list[tuple[str, str]]:
    """Replay the history: a promotion pushes its version, a rollback returns to its (earlier) version.

    The top is what is live; the entry below it is where the next rollback goes. Two rollbacks racing to
    the same version leave the same stack as one.
    """
    stack: list[tuple[str, str]] = []
    for row in history:
        entry = (row.version_id, row.version_name)
        if row.action == "rollback" and any(v == row.version_id for v, _ in stack):
            while stack[-1][0] != row.version_id:
                stack.pop()
            stack[-1] = entry
        else:
            stack.append(entry)
    return stack


def history(ws: Workspace, feature: str) -> list[LiveRecord]:
    """Every promotion and rollback of ``feature``, oldest first."""
    require_feature(ws, feature)
    return ws.store.live_history(feature)


def _refusal(feature: str, version: Version, verdict: Verdict) -> PromotionRefused:
    label = f"{feature} {version.name} ({version.id[:12]})"
    force = t("polish.promote.force", feature=feature, version=version.name)
    if verdict.run_id is None:
        detail = f"; {verdict.note}" if verdict.note else ""
        return PromotionRefused(
            t("polish.promote.never_evaluated", label=label, detail=detail),
            run_id=None,
            failing=verdict.failing,
            hint=t("polish.promote.never_evaluated_hint", feature=feature, version=version.name, force=force),
        )
    lines = "\n".join(f"  - {line}" for line in verdict.failing)
    if verdict.criteria_changed:
        return PromotionRefused(
            t("deploy.criteria.refused", version=label, run_id=verdict.run_id, lines=lines),
            run_id=verdict.run_id,
            failing=verdict.failing,
            hint=t("deploy.criteria.refused_hint", feature=feature, version=version.name),
        )
    return PromotionRefused(
        t("polish.promote.failed", label=label, run_id=verdict.run_id, lines=lines),
        run_id=verdict.run_id,
        failing=verdict.failing,
        hint=t("polish.promote.failed_hint", run_id=verdict.run_id, force=force),
    )
