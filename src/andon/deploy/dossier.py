"""The dossier (issue 15): one feature's record for an auditor, assembled from what andon already holds.

Every statement carries the records it comes from (a version, run, trace, incident or andon.yaml line) so a
reader can follow it to the dashboard (``/runs/{id}``) or the CLI (``andon cite``, ``andon incident show``).
Rendering to Markdown or HTML is :mod:`andon.deploy.dossier_render`'s job; this module only gathers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from andon.config.schema import INCIDENT_STAGES, FeatureConfig
from andon.config.yaml_source import Loc
from andon.deploy._common import require_feature
from andon.engine import guard as guard_checks
from andon.engine import pii_korean
from andon.errors import AndonError
from andon.evals.build import build_report, feature_for_run
from andon.evals.dataset import load_dataset
from andon.evals.metrics import MetricValue
from andon.evals.model import VersionSummary
from andon.evals.summarize import Conversion
from andon.messages import t
from andon.review.queue import suggested_label
from andon.store.records import ReviewItem, RunRecord
from andon.versions.canonical import Version
from andon.versions.diff import diff_versions
from andon.watch.incidents import list_incidents
from andon.workspace import Workspace

RUN_LIMIT = 50  # newest runs of the feature the dossier reports
INCIDENT_LIMIT = 200
REVIEW_LIMIT = 10_000  # decided review items read for the agreement figure
DISAGREEMENTS_LISTED = 10
HUMAN_ROUTES = ("human", "shadow", "fallback")
GUARD_FIGURES = ("precision", "recall", "accuracy")  # metrics shown for safety rails, with their intervals
RULE_CHECKS = ("crisis", "injection")  # the guard's built-in rule checks, measured by bench/guard.py
KOREAN_PII = ("addresses", "names")  # the Korean recognisers measured by bench/pii.py
HELD = "held"  # the split nothing was tuned on: the figures a statement names (the others are detail)
SECTIONS = ("purpose", "versions", "evaluations", "promotions", "incidents", "monitors", "data", "oversight", "safety")


@dataclass(frozen=True, slots=True)
class Ref:
    """A record a statement comes from: its kind, id, and the dashboard path showing it (None: the CLI only)."""

    kind: str  # version | run | trace | incident | monitor | review | promotion | config | file
    id: str
    href: str | None = None

    @property
    def anchor(self) -> str:
        """The id of the record's place in the document (versions have one; others link out)."""
        return f"{self.kind}-{self.id[:12]}"


@dataclass(frozen=True, slots=True)
class Statement:
    """One sentence of the dossier, the records behind it, and detail lines (a diff, a timeline, criteria)."""

    text: str
    refs: tuple[Ref, ...] = ()
    detail: tuple[str, ...] = ()
    anchor: str | None = None  # set when other statements link here (a version)


@dataclass(frozen=True, slots=True)
class Section:
    """One part of the dossier: its key (``SECTIONS``), title, and statements in order."""

    key: str
    title: str
    statements: tuple[Statement, ...]


@dataclass(frozen=True, slots=True)
class Dossier:
    """The whole document, in one language."""

    feature: str
    workspace: str
    language: str
    generated_at: datetime
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def section(self, key: str) -> Section:
        """The section named ``key``."""
        return next(s for s in self.sections if s.key == key)


def build_dossier(ws: Workspace, feature: str, *, language: str, now: datetime | None = None) -> Dossier:
    """Assemble ``feature``'s dossier in ``language`` (en or ko) from andon.yaml and the store."""
    config = require_feature(ws, feature)
    ctx = _Ctx(ws, feature, config, language)
    builders = (
        _purpose, _versions, _evaluations, _promotions, _incidents, _monitors, _data, _oversight, _safety,
    )  # fmt: skip
    pairs = zip(SECTIONS, builders, strict=True)
    sections = tuple(Section(key, ctx.t(f"dossier.section.{key}"), tuple(build(ctx))) for key, build in pairs)
    return Dossier(feature, ws.config.name, language, now or datetime.now(UTC), sections)


@dataclass
class _Ctx:
    ws: Workspace
    feature: str
    config: FeatureConfig
    language: str
    runs: list[RunRecord] = field(default_factory=list)
    summaries: dict[tuple[str, str], VersionSummary] = field(default_factory=dict)  # (run id, version id)

    def t(self, key: str, **values: Any) -> str:
        return t(key, language=self.language, **values)

    def line(self, *loc: str | int) -> Ref:
        """The andon.yaml line of ``features.<feature>.<loc>`` (or its nearest written parent)."""
        source = self.ws.loaded.source
        full: Loc = ("features", self.feature, *loc)
        if source is None:
            return Ref("config", Path(self.ws.loaded.path).name)
        where = source.where(full)
        path, line, _ = where.rsplit(":", 2)
        return Ref("config", f"{Path(path).name}:{line}")

    def when(self, at: datetime | None) -> str:
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at is not None else "—"


def version_ref(version_id: str) -> Ref:
    """A version's reference: it has no page of its own, so it links to its place in the dossier."""
    return Ref("version", version_id, f"#version-{version_id[:12]}")


def run_ref(run_id: str) -> Ref:
    """A run's reference: its dashboard page."""
    return Ref("run", run_id, f"/runs/{run_id}")


def trace_ref(trace_id: str) -> Ref:
    """A trace's reference: its dashboard page (``andon cite`` gives its prompt card)."""
    return Ref("trace", trace_id, f"/traces/{trace_id}")


def incident_ref(incident_id: str) -> Ref:
    """An incident's reference: its dashboard page."""
    return Ref("incident", incident_id, f"/incidents/{incident_id}")


# --- sections --------------------------------------------------------------------------------------------


def _purpose(ctx: _Ctx) -> list[Statement]:
    c = ctx.config
    out = [
        Statement(
            ctx.t("dossier.purpose.description", text=c.description.strip())
            if c.description
            else ctx.t("dossier.purpose.no_description"),
            (ctx.line("description"),),
        ),
        Statement(
            ctx.t("dossier.purpose.owner", owner=c.owner) if c.owner else ctx.t("dossier.purpose.no_owner"),
            (ctx.line("owner"),),
        ),
    ]
    if c.risk is None:
        out.append(Statement(ctx.t("dossier.purpose.no_risk"), (ctx.line("risk"),)))
    else:
        detail = tuple(f"{item.id}: {item.text(ctx.language)} ({item.basis})" for item in c.risk.items())
        tier = ctx.t(f"dossier.tier.{c.risk.tier}")
        out.append(Statement(ctx.t("dossier.purpose.risk", tier=tier), (ctx.line("risk", "tier"),), detail))
    enabled = c.disclosure.enabled
    key = "default" if enabled is None else "on" if enabled else "off"
    out.append(Statement(ctx.t(f"dossier.purpose.disclosure_{key}"), (ctx.line("disclosure"),)))
    live = ctx.ws.store.live_version(ctx.feature)
    if live is None:
        out.append(Statement(ctx.t("dossier.purpose.nothing_live")))
    else:
        out.append(Statement(ctx.t("dossier.purpose.live", name=live[1], id=live[0][:12]), (version_ref(live[0]),)))
    return out


def _versions(ctx: _Ctx) -> list[Statement]:
    history = ctx.ws.version_history(ctx.feature)
    if not history:
        return [Statement(ctx.t("dossier.versions.none"), (ctx.line("versions"),))]
    out: list[Statement] = []
    previous = None
    for record in history:
        # Compared as stored, not rebuilt: a step kind this andon does not know must not hide the history.
        version = Version(ctx.feature, record.name, record.id, (), record.content)
        refs = [version_ref(record.id)]
        if record.name in ctx.config.versions:
            refs.append(ctx.line("versions", record.name))
        if previous is None:
            text = ctx.t("dossier.versions.first", name=record.name, id=record.id[:12], at=ctx.when(record.created_at))
            detail = tuple(_version_outline(record.content))
        else:
            changes = diff_versions(previous, version)
            text = ctx.t(
                "dossier.versions.changed", name=record.name, id=record.id[:12], at=ctx.when(record.created_at),
                before=previous.name, n=len(changes),
            )  # fmt: skip
            detail = tuple(_change_lines(changes))
        out.append(Statement(text, tuple(refs), detail, anchor=f"version-{record.id[:12]}"))
        previous = version
    return out


def _version_outline(content: dict[str, Any]) -> list[str]:
    lines = []
    for step in content.get("steps", []):
        what = step.get("python") or "/".join(str(step.get(k) or "?") for k in ("provider", "model"))
        lines.append(f"steps.{step.get('name')}: {what}")
    return lines


def _change_lines(changes: Sequence[Any]) -> list[str]:
    lines: list[str] = []
    for change in changes:
        if change.lines:
            lines.append(f"{change.path}:")
            lines.extend(f"  {line}" for line in change.lines if not line.startswith(("---", "+++")))
        else:
            lines.append(f"{change.path}: {_short(change.before)} → {_short(change.after)}")
    return lines


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summaries(ctx: _Ctx) -> None:
    """Each finished run's summaries, built once (evaluations and safety rails both read them)."""
    if ctx.runs:
        return
    ctx.runs = ctx.ws.store.list_runs(ctx.feature, limit=RUN_LIMIT)
    convert = Conversion.of(ctx.ws.config)
    for run in ctx.runs:
        if run.status != "finished":
            continue
        report = build_report(ctx.ws.store, run, feature_for_run(run, ctx.config), convert, with_provenance=False)
        for summary in report.summaries:
            ctx.summaries[(run.id, summary.version_id)] = summary


def _evaluations(ctx: _Ctx) -> list[Statement]:
    _summaries(ctx)
    out: list[Statement] = []
    if ctx.config.criteria:
        criteria = ", ".join(ctx.config.criteria)
        out.append(Statement(ctx.t("dossier.evals.criteria", criteria=criteria), (ctx.line("criteria"),)))
    else:
        out.append(Statement(ctx.t("dossier.evals.no_criteria"), (ctx.line("criteria"),)))
    if not ctx.runs:
        out.append(Statement(ctx.t("dossier.evals.none")))
    for run in reversed(ctx.runs):  # oldest first, like the versions
        head = ctx.t(
            "dossier.evals.run", id=run.id, at=ctx.when(run.created_at), cases=run.n_cases, repeats=run.repeats,
            status=run.status, dataset=run.dataset, sha=run.dataset_sha256[:12],
        )  # fmt: skip
        out.append(Statement(head, (run_ref(run.id),)))
        for name, version_id in run.versions:
            summary = ctx.summaries.get((run.id, version_id))
            if summary is None:
                continue
            verdict = ctx.t("dossier.evals.passed" if summary.gate_passed else "dossier.evals.failed")
            detail = [
                f"{c.text}: {_num(c.value)} → {ctx.t('dossier.evals.met' if c.passed else 'dossier.evals.missed')}"
                for c in summary.criteria
            ]
            detail.extend(summary.gate_errors)
            text = ctx.t("dossier.evals.verdict", name=name, id=version_id[:12], verdict=verdict)
            out.append(Statement(text, (run_ref(run.id), version_ref(version_id)), tuple(detail)))
    return out


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _promotions(ctx: _Ctx) -> list[Statement]:
    store = ctx.ws.store
    history = store.live_history(ctx.feature)
    events = store.feature_events(ctx.feature)
    if not history and not events:
        return [Statement(ctx.t("dossier.promotions.none"))]
    rows: list[tuple[datetime, int, Statement]] = []
    for rec in history:
        refs = [Ref("promotion", f"live-{rec.id}"), version_ref(rec.version_id)]
        if rec.run_id:
            refs.append(run_ref(rec.run_id))
        text = ctx.t(
            f"dossier.promotions.{rec.action}", at=ctx.when(rec.created_at), actor=rec.actor, name=rec.version_name,
            id=rec.version_id[:12], reason=rec.reason or ctx.t("dossier.no_reason"),
        )  # fmt: skip
        detail = []
        if rec.forced:
            detail.append(ctx.t("dossier.promotions.forced"))
        if rec.criteria is not None:
            detail.append(ctx.t("dossier.promotions.criteria", criteria=", ".join(rec.criteria.get("criteria", []))))
        if rec.criteria_changed:
            detail.append(ctx.t("dossier.promotions.criteria_changed"))
        rows.append((rec.created_at, rec.id, Statement(text, tuple(refs), tuple(detail))))
    for event in events:
        text = ctx.t(
            f"dossier.events.{event.kind}", at=ctx.when(event.created_at), actor=event.actor,
            reason=event.reason or ctx.t("dossier.no_reason"),
        )  # fmt: skip
        rows.append((event.created_at, event.id, Statement(text, (Ref("event", f"event-{event.id}"),))))
    return [s for _, _, s in sorted(rows, key=lambda r: (r[0], r[1]))]


def _incidents(ctx: _Ctx) -> list[Statement]:
    incidents = list_incidents(ctx.ws, feature=ctx.feature, limit=INCIDENT_LIMIT)
    if not incidents:
        return [Statement(ctx.t("dossier.incidents.none"))]
    out = []
    for inc in reversed(incidents):  # oldest first
        detail = [
            ctx.t("dossier.incidents.stage", stage=s, at=ctx.when(inc.stages[s]), actor=inc.actors.get(s, "—"))
            for s in INCIDENT_STAGES
            if s in inc.stages
        ]
        if inc.false_alarm:
            detail.append(ctx.t("dossier.incidents.false_alarm"))
        for key, value in (("cause", inc.cause), ("decision", inc.decision)):
            if value:
                detail.append(ctx.t(f"dossier.incidents.{key}", text=value))
        text = ctx.t("dossier.incidents.one", id=inc.id, title=inc.title, stage=inc.stage, at=ctx.when(inc.opened_at))
        out.append(Statement(text, (incident_ref(inc.id),), tuple(detail)))
    return out


def _monitors(ctx: _Ctx) -> list[Statement]:
    monitors = {n: m for n, m in ctx.ws.config.monitors.items() if m.acted_feature == ctx.feature}
    if not monitors:
        return [Statement(ctx.t("dossier.monitors.none"))]
    pulls = ctx.ws.store.cord_pulls(feature=ctx.feature)
    out = []
    for name, monitor in monitors.items():
        source = ctx.ws.loaded.source
        loc = ("monitors", name)
        where = source.where(loc).rsplit(":", 2) if source is not None else ["andon.yaml", "1"]
        refs = (Ref("monitor", name, f"/monitors/{name}"), Ref("config", f"{Path(where[0]).name}:{where[1]}"))
        mine = [p for p in pulls if p.monitor == name]
        actions = ", ".join(a.type for a in monitor.actions) or "—"
        text = ctx.t(
            "dossier.monitors.one", name=name, metric=monitor.metric, detector=str(monitor.detector.get("type")),
            mode=monitor.mode, actions=actions, pulls=len(mine),
        )  # fmt: skip
        detail = [f"{p.created_at.astimezone(UTC):%Y-%m-%d %H:%M} {p.action} ({p.actor}): {p.reason}" for p in mine]
        if monitor.owner:
            detail.insert(0, ctx.t("dossier.purpose.owner", owner=monitor.owner))
        out.append(Statement(text, refs, tuple(detail)))
    return out


def _data(ctx: _Ctx) -> list[Statement]:
    c = ctx.config
    out: list[Statement] = []
    if c.dataset is None:
        out.append(Statement(ctx.t("dossier.data.no_dataset"), (ctx.line("dataset"),)))
    else:
        d = c.dataset
        unknown = ctx.t("dossier.data.not_stated")
        try:
            loaded = load_dataset(Path(d.path), ctx.ws.root)
            size = ctx.t("dossier.data.cases", n=len(loaded.cases), sha=loaded.sha256[:12])
        except AndonError as exc:
            size = exc.message
        consent = ctx.t(f"dossier.consent.{d.consent}") if d.consent else unknown
        detail = (
            f"{ctx.t('dossier.data.licence')}: {d.licence or unknown}",
            f"{ctx.t('dossier.data.source')}: {d.source or unknown}",
            f"{ctx.t('dossier.data.consent')}: {consent}",
        )
        out.append(Statement(ctx.t("dossier.data.dataset", path=d.path, size=size), (ctx.line("dataset"),), detail))
    _summaries(ctx)
    seen: dict[tuple[str, str], str] = {}
    for run in reversed(ctx.runs):
        seen.setdefault((run.dataset, run.dataset_sha256), run.id)
    for (path, sha), run_id in seen.items():
        out.append(Statement(ctx.t("dossier.data.run_dataset", path=path, sha=sha[:12], id=run_id), (run_ref(run_id),)))
    use = c.serve.data_use
    allowed = ctx.ws.store.cases_allowed(ctx.feature)
    text = ctx.t(
        "dossier.data.use", inputs=use.inputs, days=use.retention_days, send=use.send,
        cases=ctx.t("dossier.yes" if allowed else "dossier.no"),
    )  # fmt: skip
    out.append(Statement(text, (ctx.line("serve", "data_use"),)))
    return out


def _oversight(ctx: _Ctx) -> list[Statement]:
    store = ctx.ws.store
    routes = store.trace_route_counts(ctx.feature)
    total = sum(routes.values())
    to_people = sum(routes.get(r, 0) for r in HUMAN_ROUTES)
    routing = ctx.config.serve.routing
    text = ctx.t(
        "dossier.oversight.routing", min_confidence=_num(routing.min_confidence), policy=routing.policy or "—",
        shadow=ctx.t("dossier.yes" if routing.shadow else "dossier.no"), fallback=routing.fallback,
    )  # fmt: skip
    out = [Statement(text, (ctx.line("serve", "routing"),))]
    if total:
        listed = ", ".join(f"{route} {n}" for route, n in sorted(routes.items()))
        share = f"{to_people / total:.1%}"
        text = ctx.t("dossier.oversight.share", share=share, people=to_people, total=total, routes=listed)
        out.append(Statement(text))
    else:
        out.append(Statement(ctx.t("dossier.oversight.no_traces")))
    counts = store.review_counts(ctx.feature)
    decided = [
        ReviewItem.from_row(row) for row in store.list_review_items(ctx.feature, status="decided", limit=REVIEW_LIMIT)
    ]
    pairs = [(item, suggested_label(item, ctx.config), item.label) for item in decided]
    compared = [(item, ai, human) for item, ai, human in pairs if ai is not None and human is not None]
    agree = sum(1 for _, ai, human in compared if ai == human)
    text = ctx.t("dossier.oversight.reviews", pending=counts.get("pending", 0), decided=counts.get("decided", 0))
    out.append(Statement(text))
    if compared:
        disagreements = [(item, ai, human) for item, ai, human in compared if ai != human]
        refs = tuple(
            trace_ref(item.trace_id) if item.trace_id else Ref("review", item.id)
            for item, _, _ in disagreements[:DISAGREEMENTS_LISTED]
        )
        detail = tuple(
            ctx.t("dossier.oversight.disagreement", id=item.id, ai=ai, human=human, by=item.decided_by or "—")
            for item, ai, human in disagreements[:DISAGREEMENTS_LISTED]
        )
        text = ctx.t("dossier.oversight.agreement", share=f"{agree / len(compared):.1%}", agree=agree, n=len(compared))
        out.append(Statement(text, refs, detail))
    elif decided:
        out.append(Statement(ctx.t("dossier.oversight.no_labels")))
    return out


def guard_steps(content: dict[str, Any]) -> list[dict[str, Any]]:
    """The safety-rail steps of a version's canonical content (``kind: guard``, or a ``guard:`` block)."""
    return [s for s in content.get("steps", []) if s.get("kind") == "guard" or s.get("guard")]


def _safety(ctx: _Ctx) -> list[Statement]:
    _summaries(ctx)
    out: list[Statement] = []
    used: set[str] = set()
    for record in ctx.ws.store.list_versions(ctx.feature):
        for step in guard_steps(record.content):
            used.update(_check_names(step))
            settings = {k: v for k, v in step.items() if v not in (None, [], {}) and k != "name"}
            detail = tuple(json.dumps(settings, ensure_ascii=False, sort_keys=True, indent=2).splitlines())
            text = ctx.t("dossier.safety.step", step=step.get("name"), name=record.name, id=record.id[:12])
            out.append(Statement(text, (version_ref(record.id),), detail))
            out.extend(_guard_figures(ctx, record.id, record.name))
    out.extend(_rule_figures(ctx, [c for c in RULE_CHECKS if c in used]))
    if "classifier" in used:
        out.append(Statement(ctx.t("dossier.safety.classifier")))
    if "pii" in used or ctx.config.serve.data_use.send == "masked":
        out.extend(_pii_figures(ctx))
    return out or [Statement(ctx.t("dossier.safety.none"))]


def _check_names(step: dict[str, Any]) -> set[str]:
    """The checks a guard step runs (``guard.checks``' keys; an older content's ``checks`` list too)."""
    spec = step.get("guard")
    checks = spec.get("checks") if isinstance(spec, dict) else step.get("checks")
    return {str(c) for c in checks} if isinstance(checks, dict | list) else set()


def _rate(rate: dict[str, Any]) -> str:
    """A measured rate as the dossier states it: value, 95 % Wilson interval, hits of n."""
    value = rate.get("value")
    shown = "—" if value is None else f"{value:.3f}"
    return f"{shown} [{rate['low']:.3f}, {rate['high']:.3f}] ({rate['hits']}/{rate['n']})"


def _slices(ctx: _Ctx, per: dict[str, Any]) -> list[str]:
    return [ctx.t("dossier.safety.slice", slice=name, precision=_rate(row["precision"]), recall=_rate(row["recall"]))
            for name, row in per.items()]  # fmt: skip


def file_ref(path: Path) -> Ref:
    """A file andon ships (measured figures), named by its path inside the andon package."""
    return Ref("file", path.relative_to(Path(guard_checks.__file__).parents[2]).as_posix())


def _rule_figures(ctx: _Ctx, checks: list[str]) -> list[Statement]:
    """The built-in rule checks' precision and recall (``bench/guard.py --save``), held-out first."""
    if not checks:
        return []
    figures = guard_checks.measured_figures()
    ref = file_ref(guard_checks.FIGURES)
    command = str((figures or {}).get("command", "python -m bench.guard --save"))
    out = []
    for check in checks:
        per = (figures or {}).get("checks", {}).get(check)
        if figures is None or not per or HELD not in per:
            out.append(Statement(ctx.t("dossier.safety.check_unmeasured", check=check, command=command), (ref,)))
            continue
        held = per[HELD]
        text = ctx.t(
            "dossier.safety.check", check=check, precision=_rate(held["precision"]), recall=_rate(held["recall"]),
            n=held["tp"] + held["fp"] + held["fn"] + held["tn"], cases=figures.get("cases", "?"), command=command,
        )  # fmt: skip
        sha = str(figures.get("rules_sha256", ""))[:12]
        state = ctx.t("dossier.safety.current" if figures["current"] else "dossier.safety.changed", sha=sha,
                      command=command)  # fmt: skip
        detail = (state, ctx.t("dossier.safety.slices"), *_slices(ctx, per))
        out.append(Statement(text, (ref,), detail))
    return out


def _pii_figures(ctx: _Ctx) -> list[Statement]:
    """The Korean address and name recognisers' precision and recall (``bench/pii.py --save``)."""
    figures = pii_korean.measured_figures()
    ref = file_ref(pii_korean.FIGURES)
    if figures is None:
        return [Statement(ctx.t("dossier.safety.pii_unmeasured", command="python -m bench.pii --save"), (ref,))]
    command = str(figures.get("command", "python -m bench.pii --save"))
    use = ctx.config.serve.data_use
    kinds = set(use.mask if use.send == "masked" else ()) | set(use.redact)
    out = []
    for kind in KOREAN_PII:
        candidates = {n: c for n, c in figures.get("candidates", {}).items() if n.split("/")[0] == kind}
        if not candidates:
            continue
        detail = [ctx.t("dossier.safety.slice", slice=f"{name} {split}", precision=_rate(row["precision"]),
                        recall=_rate(row["recall"]))
                  for name, per in candidates.items() for split, row in per.items()]  # fmt: skip
        adopted = figures.get("adopted", {}).get(kind)
        if adopted in candidates:
            held = candidates[adopted][HELD]
            text = ctx.t(
                "dossier.safety.pii_adopted", kind=kind, candidate=adopted, precision=_rate(held["precision"]),
                recall=_rate(held["recall"]), used=ctx.t("dossier.yes" if kind in kinds else "dossier.no"),
                command=command,
            )  # fmt: skip
        else:
            best = max(candidates, key=lambda n: candidates[n][HELD]["precision"].get("value") or 0.0)
            held = candidates[best][HELD]
            text = ctx.t("dossier.safety.pii_not_adopted", kind=kind, candidate=best,
                         precision=_rate(held["precision"]), recall=_rate(held["recall"]), command=command)  # fmt: skip
        state = "dossier.safety.pii_current" if figures["current"] else "dossier.safety.pii_changed"
        sha = str(figures.get("recogniser_sha256", ""))[:12]
        out.append(Statement(text, (ref,), (ctx.t(state, sha=sha, command=command), *detail)))
    return out


def _guard_figures(ctx: _Ctx, version_id: str, name: str) -> list[Statement]:
    """Precision and recall (with intervals) of the newest finished run of a version with safety rails."""
    for run in ctx.runs:  # newest first
        summary = ctx.summaries.get((run.id, version_id))
        if summary is None:
            continue
        figures = [_figure(key, m) for key, m in sorted(summary.metrics.items()) if key.startswith(GUARD_FIGURES)]
        if figures:
            text = ctx.t("dossier.safety.figures", name=name, id=run.id)
            return [Statement(text, (run_ref(run.id),), tuple(figures))]
    return [Statement(ctx.t("dossier.safety.not_measured", name=name))]


def _figure(key: str, m: MetricValue) -> str:
    interval = f" [{_num(m.low)}, {_num(m.high)}]" if m.low is not None else ""
    return f"{key}: {_num(m.value)}{interval} (n={m.n})"


__all__ = [
    "SECTIONS", "Dossier", "Ref", "Section", "Statement", "build_dossier", "file_ref", "guard_steps",
    "incident_ref", "run_ref", "trace_ref", "version_ref",
]  # fmt: skip
