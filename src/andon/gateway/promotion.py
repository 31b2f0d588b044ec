"""Which version a feature serves: promotion gated by its latest evaluation, rollback, history, feature state.

Every change appends a row (``live_versions`` or ``feature_events``) naming who did it and why; nothing
is overwritten, so the history answers "what was live at 14:03, and who decided so?".
"""

from __future__ import annotations

import getpass
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from andon.config.schema import FeatureConfig
from andon.errors import AndonError, ConfigError, NotFoundError
from andon.evals.build import build_report, feature_for_run
from andon.evals.model import CriterionResult, VersionSummary
from andon.evals.summarize import Conversion
from andon.store.deploy import CASES_KINDS, STOP_KINDS, FeatureEvent, LiveRecord
from andon.store.records import RunRecord
from andon.versions.canonical import Version
from andon.workspace import Workspace

RUN_SCAN = 1000  # newest runs of a feature searched for the version's evaluation
MAX_REASON = 2000


class PromotionRefused(AndonError):
    """The version failed its latest evaluation's criteria (or was never evaluated); ``--force`` overrides."""

    exit_code = 1  # a gate failed, as with `andon eval --gate`

    def __init__(self, message: str, *, run_id: str | None, failing: Sequence[str], hint: str) -> None:
        super().__init__(message, hint=hint)
        self.run_id = run_id
        self.failing = list(failing)


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a version fared in its latest finished evaluation, judged on the current criteria."""

    version_id: str
    run_id: str | None  # None: never evaluated to the end
    passed: bool
    criteria: list[CriterionResult] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)  # one line per failed criterion or gate error
    note: str | None = None  # e.g. a newer run that did not finish, or no criteria to check


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


@dataclass(frozen=True, slots=True)
class LiveState:
    """The version a feature serves now, where that comes from, and whether the feature is stopped."""

    feature: str
    version_id: str
    version_name: str
    source: Literal["promoted", "serve.live", "last declared"]
    record: LiveRecord | None
    stopped: bool
    stop_reason: str | None


def default_actor() -> str:
    """Who is acting: $USER (or $LOGNAME), else ``git config user.name``, else the login name."""
    for name in ("USER", "LOGNAME"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    try:
        found = subprocess.run(
            ["git", "config", "user.name"], capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    if found:
        return found
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def require_feature(ws: Workspace, feature: str) -> FeatureConfig:
    """The feature's config, or a NotFoundError that lists the known ones."""
    config = ws.config.features.get(feature)
    if config is None:
        known = ", ".join(ws.config.features) or "none"
        raise NotFoundError(f"no feature {feature!r} in andon.yaml", hint=f"known features: {known}")
    return config


# Promotion ------------------------------------------------------------------------------------------------


def evaluation_verdict(ws: Workspace, feature: str, version: Version) -> Verdict:
    """Judge ``version`` on its newest finished run with the criteria in andon.yaml now."""
    config = require_feature(ws, feature)
    runs = [r for r in ws.store.list_runs(feature, limit=RUN_SCAN) if version.id in {v for _, v in r.versions}]
    unfinished = next((r for r in runs if r.status != "finished"), None)
    finished = next((r for r in runs if r.status == "finished"), None)
    if finished is None:
        note = None
        if unfinished is not None:
            note = f"run {unfinished.id} includes it but ended {unfinished.status.replace('_', ' ')}"
        return Verdict(version.id, None, False, failing=["never evaluated to the end"], note=note)
    summary = _summary(ws, finished, config, version.id)
    failing = [_failure_line(c) for c in summary.criteria if not c.passed] + list(summary.gate_errors)
    notes = []
    if unfinished is not None and unfinished.created_at > finished.created_at:
        notes.append(f"newer run {unfinished.id} ended {unfinished.status.replace('_', ' ')} and was not used")
    if not config.criteria:
        notes.append(f"feature {feature!r} has no criteria in andon.yaml: nothing was checked")
    return Verdict(
        version.id,
        finished.id,
        summary.gate_passed,
        criteria=list(summary.criteria),
        failing=failing,
        note="; ".join(notes) or None,
    )


def promote(
    ws: Workspace,
    feature: str,
    version_ref: str,
    *,
    force: bool = False,
    actor: str | None = None,
    reason: str | None = None,
) -> PromotionResult:
    """Make a version live unless its latest evaluation failed the criteria; ``force`` (with a reason) overrides."""
    require_feature(ws, feature)
    reason = _clean_reason(reason)
    if force and reason is None:
        raise ConfigError(
            "--force needs --reason: a forced promotion is recorded with who and why",
            hint=f"andon promote {feature} {version_ref} --force --reason 'why this cannot wait'",
        )
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
        actor=_actor(actor),
        forced=force and not verdict.passed,
        reason=reason,
        run_id=verdict.run_id,
    )
    return PromotionResult(feature, version.id, version.name, verdict, record, previous)


def rollback(ws: Workspace, feature: str, *, actor: str | None = None, reason: str | None = None) -> LiveRecord:
    """Serve again the version that was live before the current one (a new history row, nothing erased)."""
    require_feature(ws, feature)
    stack = live_stack(ws.store.live_history(feature))
    if len(stack) < 2:
        current = f"only {stack[-1][1]} ({stack[-1][0][:12]}) was ever live" if stack else "nothing was promoted yet"
        raise AndonError(
            f"cannot roll back {feature}: {current}",
            hint=f"promote a version explicitly: andon promote {feature} VERSION",
        )
    version_id, name = stack[-2]
    return ws.store.record_live(
        feature, version_id, name, action="rollback", actor=_actor(actor), reason=_clean_reason(reason)
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


def live(ws: Workspace, feature: str) -> LiveState:
    """The version served now: the last promoted one, else ``serve.live``, else the last declared."""
    config = require_feature(ws, feature)
    stopped, stop_reason = ws.store.feature_stopped(feature)
    rows = ws.store.live_history(feature)
    if rows:
        row = rows[-1]
        return LiveState(feature, row.version_id, row.version_name, "promoted", row, stopped, stop_reason)
    if config.serve.live is not None:
        version = ws.version(feature, config.serve.live)
        return LiveState(feature, version.id, version.name, "serve.live", None, stopped, stop_reason)
    version = ws.version(feature)
    return LiveState(feature, version.id, version.name, "last declared", None, stopped, stop_reason)


# Feature state --------------------------------------------------------------------------------------------


def stop_feature(ws: Workspace, feature: str, *, reason: str | None, actor: str | None = None) -> FeatureEvent | None:
    """Pull the cord: the gateway sends the feature's calls to the human queue. None if it was stopped already."""
    require_feature(ws, feature)
    why = _clean_reason(reason)
    if why is None:
        raise ConfigError("stopping a feature needs a reason", hint=f"andon stop {feature} --reason 'what is wrong'")
    if ws.store.feature_stopped(feature)[0]:
        return None
    return ws.store.record_feature_event(feature, "stopped", {"stopped": True}, _actor(actor), why)


def resume_feature(
    ws: Workspace, feature: str, *, reason: str | None = None, actor: str | None = None
) -> FeatureEvent | None:
    """Serve the feature with the AI again. None if it was not stopped."""
    require_feature(ws, feature)
    if not ws.store.feature_stopped(feature)[0]:
        return None
    return ws.store.record_feature_event(feature, "resumed", {"stopped": False}, _actor(actor), _clean_reason(reason))


def set_cases_allowed(
    ws: Workspace, feature: str, allowed: bool, *, reason: str | None, actor: str | None = None
) -> FeatureEvent | None:
    """Allow (or deny) turning the feature's production traces into test cases. None if unchanged."""
    require_feature(ws, feature)
    why = _clean_reason(reason)
    if allowed and why is None:
        raise ConfigError(
            "allowing production inputs to become test cases needs a reason (it is recorded)",
            hint=f"andon data-use allow-cases {feature} --reason 'consented under policy P-12'",
        )
    if ws.store.cases_allowed(feature) == allowed:
        return None
    kind = "cases_allowed" if allowed else "cases_denied"
    return ws.store.record_feature_event(feature, kind, {"cases_allowed": allowed}, _actor(actor), why)


def state_events(ws: Workspace, feature: str) -> list[FeatureEvent]:
    """The feature's stop/resume and data-use events, oldest first."""
    require_feature(ws, feature)
    return ws.store.feature_events(feature, STOP_KINDS + CASES_KINDS)


# Helpers --------------------------------------------------------------------------------------------------


def _summary(ws: Workspace, run: RunRecord, config: FeatureConfig, version_id: str) -> VersionSummary:
    convert = Conversion(ws.config.currency, {k: float(v) for k, v in ws.config.exchange_rates.items()})
    report = build_report(ws.store, run, feature_for_run(run, config), convert, with_provenance=False)
    return next(s for s in report.summaries if s.version_id == version_id)


def _failure_line(c: CriterionResult) -> str:
    if c.value is None:
        measured = "not measured"
    else:
        measured = f"measured {_num(c.value)}"
        if c.judged_on != "estimate" and c.judged_value is not None:
            measured += f", {c.judged_on} {_num(c.judged_value)}"
    return f"{c.text}: {measured}" + (f" ({c.note})" if c.note else "")


def _num(value: float) -> str:
    return f"{value:.4g}"


def _refusal(feature: str, version: Version, verdict: Verdict) -> PromotionRefused:
    label = f"{feature} {version.name} ({version.id[:12]})"
    force = (
        f"or promote anyway: andon promote {feature} {version.name} --force --reason '…' (recorded with who and why)"
    )
    if verdict.run_id is None:
        detail = f"; {verdict.note}" if verdict.note else ""
        return PromotionRefused(
            f"refusing to promote {label}: it was never evaluated to the end{detail}",
            run_id=None,
            failing=verdict.failing,
            hint=f"evaluate it first: andon eval {feature} --versions {version.name}, {force}",
        )
    lines = "\n".join(f"  - {line}" for line in verdict.failing)
    return PromotionRefused(
        f"refusing to promote {label}: its latest evaluation, run {verdict.run_id}, failed the criteria:\n{lines}",
        run_id=verdict.run_id,
        failing=verdict.failing,
        hint=f"see it with: andon report {verdict.run_id}; fix the version and evaluate again, {force}",
    )


def _actor(actor: str | None) -> str:
    value = (actor or "").strip() or default_actor()
    if len(value) > 200:
        raise ConfigError("the actor name is longer than 200 characters", where="--actor")
    return value


def _clean_reason(reason: str | None) -> str | None:
    if reason is None or not reason.strip():
        return None
    if len(reason) > MAX_REASON:
        raise ConfigError(f"the reason is {len(reason)} characters; at most {MAX_REASON}", where="--reason")
    return reason.strip()
