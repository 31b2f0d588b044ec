"""The promotion gate: a version's newest finished evaluation, judged on the criteria it was run under.

A run is judged on the criteria recorded with it. When andon.yaml's criteria differ (looser or tighter),
the gate stays closed: the verdict says so and shows both, and only ``--force --reason`` gets past it.
Robustness runs (perturbed cases beside their originals) are not evaluations of their own: ``flip_rate[NAME]``
criteria are judged on the version's newest finished one, and without one the gate names the run that is missing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from andon.config.criteria import PER_PERTURBATION, parse_criterion
from andon.config.schema import FeatureConfig
from andon.deploy._common import require_feature
from andon.deploy.criteria import criteria_record, criteria_sha256, recorded_criteria
from andon.deploy.versus_live import judge_versus_live
from andon.evals.build import build_report, feature_for_run
from andon.evals.flip_criteria import apply_flip_rates
from andon.evals.metrics import MetricValue
from andon.evals.model import CriterionResult, VersionSummary
from andon.evals.robust_run import is_robustness_run, robustness_report
from andon.evals.summarize import Conversion, judge_criteria
from andon.messages import t
from andon.store.records import RunRecord
from andon.versions.canonical import Version
from andon.workspace import Workspace

RUN_SCAN = 1000  # newest runs of a feature searched for the version's evaluation


@dataclass(frozen=True, slots=True)
class Judgement:
    """A finished run's judgement of one version: on andon.yaml's criteria now and on the run's own."""

    criteria: list[CriterionResult]
    failing: list[str]
    passed_now: bool
    passed_on_run: bool | None  # None: the run recorded no criteria


# (run id, version id, criteria hash): a finished run's results never change, so neither does this.
JudgementMemo = MutableMapping[tuple[str, str, str], Judgement]


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a version fared in its latest finished evaluation, and whether the gate lets it through."""

    version_id: str
    run_id: str | None  # None: never evaluated to the end
    passed: bool  # the gate: it passed, judged on the very criteria its run was made under
    criteria: list[CriterionResult] = field(default_factory=list)  # judged on andon.yaml's criteria now
    failing: list[str] = field(default_factory=list)  # one line per failed criterion or gate error
    note: str | None = None  # e.g. a newer run that did not finish, or no criteria to check
    criteria_record: dict[str, Any] = field(default_factory=dict)  # andon.yaml's criteria now
    criteria_sha256: str = ""
    run_criteria: list[str] | None = None  # as recorded with the run (None: it recorded none)
    run_criteria_sha256: str | None = None
    passed_on_run_criteria: bool | None = None

    @property
    def criteria_changed(self) -> bool:
        """True when andon.yaml's criteria are not the ones the run was judged under."""
        return self.run_id is not None and self.run_criteria_sha256 != self.criteria_sha256


def evaluation_verdict(ws: Workspace, feature: str, version: Version, *, memo: JudgementMemo | None = None) -> Verdict:
    """Judge ``version`` on its newest finished run; ``memo`` keeps judgements for callers that ask often."""
    config = require_feature(ws, feature)
    current = criteria_record(config.criteria, config.strict)
    current_sha = criteria_sha256(current)
    runs = [r for r in ws.store.list_runs(feature, limit=RUN_SCAN) if version.id in {v for _, v in r.versions}]
    evaluations = [r for r in runs if not is_robustness_run(r)]
    unfinished = next((r for r in evaluations if r.status != "finished"), None)
    finished = next((r for r in evaluations if r.status == "finished"), None)
    if finished is None:
        note = None
        if unfinished is not None:
            note = f"run {unfinished.id} includes it but ended {unfinished.status.replace('_', ' ')}"
        return Verdict(
            version.id, None, False, failing=["never evaluated to the end"], note=note,
            criteria_record=current, criteria_sha256=current_sha,
        )  # fmt: skip
    recorded = recorded_criteria(finished.config)
    recorded_sha = criteria_sha256(recorded) if recorded is not None else None
    flips = flip_criteria(config.criteria)
    robust = _newest_robustness(runs) if flips else None
    key = (finished.id if robust is None else f"{finished.id}+{robust.id}", version.id, current_sha)
    judged = memo.get(key) if memo is not None else None
    if judged is None:
        judged = _judge(ws, finished, config, version.id, changed=recorded_sha != current_sha, robust=robust)
        if memo is not None:
            memo[key] = judged
    versus = judge_versus_live(ws, config, feature, version.id, finished)  # depends on what is live now: not memoised
    failing = list(judged.failing) + [failure_line(c) for c in versus.failing]
    if recorded_sha != current_sha:
        failing.insert(0, _changed_line(finished.id, recorded, current, judged))
    notes = [versus.note] if versus.note else []
    if robust is not None:
        notes.append(t("deploy.robustness.used", run_id=robust.id, criteria=", ".join(flips)))
    if unfinished is not None and unfinished.created_at > finished.created_at:
        notes.append(f"newer run {unfinished.id} ended {unfinished.status.replace('_', ' ')} and was not used")
    if not config.criteria:
        notes.append(f"feature {feature!r} has no criteria in andon.yaml: nothing was checked")
    return Verdict(
        version.id,
        finished.id,
        judged.passed_now and recorded_sha == current_sha and not versus.failing,
        criteria=list(judged.criteria) + versus.results,
        failing=failing,
        note="; ".join(notes) or None,
        criteria_record=current,
        criteria_sha256=current_sha,
        run_criteria=None if recorded is None else list(recorded["criteria"]),
        run_criteria_sha256=recorded_sha,
        passed_on_run_criteria=judged.passed_on_run,
    )


def verdict_metrics(ws: Workspace, feature: str, verdict: Verdict) -> dict[str, MetricValue]:
    """Every metric the verdict's run measured for its version, by criterion key (``accuracy``, ``recall[reject]`` …).

    Empty when the version was never evaluated to the end.
    """
    if verdict.run_id is None:
        return {}
    run = ws.store.get_run(verdict.run_id)
    config = require_feature(ws, feature)
    robust = None
    if flip_criteria(config.criteria):
        runs = ws.store.list_runs(feature, limit=RUN_SCAN)
        robust = _newest_robustness([r for r in runs if verdict.version_id in {v for _, v in r.versions}])
    return dict(_summary(ws, run, config, verdict.version_id, robust).metrics)


def flip_criteria(criteria: list[str]) -> list[str]:
    """The criteria judged on a robustness run: ``flip_rate[NAME]`` (plain ``flip_rate`` is the repeats')."""
    out = []
    for text in criteria:
        try:
            c = parse_criterion(text)
        except ValueError:
            continue  # the config loader refuses it with its line; nothing to route here
        if c.metric in PER_PERTURBATION and c.label is not None and c.baseline is None:
            out.append(text.strip())
    return out


def _newest_robustness(runs: list[RunRecord]) -> RunRecord | None:
    """The newest finished robustness run among ``runs`` (newest first, as the store lists them)."""
    return next((r for r in runs if r.status == "finished" and is_robustness_run(r)), None)


def failure_line(c: CriterionResult) -> str:
    """One failed criterion with what was measured (and the bound judged, when strict)."""
    if c.value is None:
        measured = "not measured"
    else:
        measured = f"measured {_num(c.value)}"
        if c.judged_on != "estimate" and c.judged_value is not None:
            measured += f", {c.judged_on} {_num(c.judged_value)}"
    return f"{c.text}: {measured}" + (f" ({c.note})" if c.note else "")


def describe_criteria(record: dict[str, Any] | None, sha: str | None) -> str:
    """Criteria for a sentence: ``accuracy >= 0.9, strict (criteria 1a2b3c4d5e6f)``; no brackets (console markup)."""
    if record is None:
        return t("deploy.criteria.none_recorded")
    texts = ", ".join(record["criteria"]) or t("deploy.criteria.empty")
    strict = f", {t('deploy.criteria.strict')}" if record.get("strict") else ""
    return f"{texts}{strict} ({t('deploy.criteria.hash', sha=(sha or '')[:12])})"


def _judge(
    ws: Workspace, run: RunRecord, config: FeatureConfig, version_id: str, *, changed: bool, robust: RunRecord | None
) -> Judgement:
    summary = _summary(ws, run, config, version_id, robust)
    flips = set(flip_criteria(config.criteria))
    missing = robust is None and bool(flips)
    failing = [failure_line(c) for c in summary.criteria if not c.passed and not (missing and c.text.strip() in flips)]
    if missing:
        # Not "not measured": say which run would measure it, and how to make one.
        version = next(name for name, vid in run.versions if vid == version_id)
        failing.append(t("deploy.robustness.missing", criteria=", ".join(sorted(flips)), version=version,
                         run_id=run.id, feature=run.feature))  # fmt: skip
    failing += list(summary.gate_errors)
    on_run: bool | None = summary.gate_passed
    if changed:
        if recorded_criteria(run.config) is None:
            on_run = None
        else:
            # The same stored results, judged again on the criteria recorded with the run.
            own = dataclasses.replace(summary)
            judge_criteria(own, feature_for_run(run, None))
            on_run = own.gate_passed
    return Judgement(list(summary.criteria), failing, summary.gate_passed, on_run)


def _summary(
    ws: Workspace, run: RunRecord, config: FeatureConfig, version_id: str, robust: RunRecord | None = None
) -> VersionSummary:
    """The version's summary in ``run``; with ``robust``, its flip rates from that run too, criteria judged again."""
    feature = feature_for_run(run, config)
    report = build_report(ws.store, run, feature, Conversion.of(ws.config), with_provenance=False)
    summary = next(s for s in report.summaries if s.version_id == version_id)
    if robust is not None:
        flips = robustness_report(ws.store, robust)
        # Rates are named by version name; the two runs may name the same version (by id) differently.
        name = next((n for n, vid in robust.versions if vid == version_id), None)
        flips.rates = [dataclasses.replace(r, version_name=summary.version_name) for r in flips.rates
                       if r.version_name == name]  # fmt: skip
        apply_flip_rates([summary], flips, feature)
    return summary


def _changed_line(run_id: str, recorded: dict[str, Any] | None, current: dict[str, Any], judged: Judgement) -> str:
    def outcome(passed: bool | None) -> str:
        key = "unknown" if passed is None else "held" if passed else "failed"
        return t(f"deploy.criteria.{key}")

    return t(
        "deploy.criteria.changed",
        run_id=run_id,
        then=describe_criteria(recorded, criteria_sha256(recorded) if recorded else None),
        then_outcome=outcome(judged.passed_on_run),
        now=describe_criteria(current, criteria_sha256(current)),
        now_outcome=outcome(judged.passed_now),
    )


def _num(value: float) -> str:
    return f"{value:.4g}"
