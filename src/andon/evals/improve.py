"""The improvement loop: a run's failed cases → a revised prompt from a model → a new version judged on held-out cases.

The cases are divided once by a hash of their ids (:mod:`andon.evals.splits`): the model sees failures of the
*learning* split only, and the candidate is compared with its base, paired, on the *judging* split only, in a
run of its own that records the split, the proposal's output id and the rationale. Cases whose end user has
not consented to ``improve`` never reach the model (:mod:`andon.evals.case_consent`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError

from andon.engine.masking import MaskPolicy
from andon.errors import ConfigError, NotFoundError, ProviderError
from andon.evals.ask import MAX_TOKENS, Answer, ask_model, pick_provider
from andon.evals.build import build_report, feature_for_run, load_cells
from andon.evals.case_consent import consented_cases
from andon.evals.dataset import load_dataset
from andon.evals.model import Case, CellResult, Comparison, RunReport
from andon.evals.runner import run_evaluation
from andon.evals.splits import Split
from andon.evals.summarize import Conversion
from andon.messages import t
from andon.store.records import RunRecord
from andon.versions.canonical import Version
from andon.versions.derive import derive_version, model_step, version_yaml
from andon.versions.render import parse_template, step_variables
from andon.workspace import Workspace

__all__ = ["MAX_SHOWN", "Improvement", "aimprove", "improvement_prompt"]

MAX_SHOWN = 20  # failed cases shown to the model: enough to see a pattern, few enough to fit a small context
MAX_VALUE = 600  # characters of one value shown; longer ones are cut
RUNS_SEARCHED = 50
JUDGING_NOTE = "improve"  # the key of a judging run's settings that records the loop's turn

SYSTEM = """\
You improve the prompt of an AI feature. You get its current system instructions and prompt template \
(Jinja2: keep the {{ variable }} placeholders it needs and use no others than those listed), its output \
format, and cases where it failed, each with what was expected and what it answered. Write revised system \
instructions and a revised prompt template that get such cases right without breaking the others. State \
general rules; never copy a case's answer into the prompt. Answer with JSON only: {"system": "...", \
"prompt": "...", "rationale": "..."}; the rationale says in a few sentences what you changed and why."""

PROPOSAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "system": {"type": "string"},
        "prompt": {"type": "string", "minLength": 1},
        "rationale": {"type": "string", "minLength": 1},
    },
    "required": ["system", "prompt", "rationale"],
    "additionalProperties": False,
}


def bounded_proposal_schema(max_tokens: int = MAX_TOKENS) -> dict[str, Any]:
    """``PROPOSAL_SCHEMA`` with each field's length bounded so the whole answer fits ``max_tokens``.

    For the embedded model, whose grammar enforces ``maxLength``: a small model otherwise writes on until the answer
    is cut off and the JSON cannot be read. A character is at most about one token, so the bounds hold in any script.
    Hosted providers get the plain schema (strict JSON-schema modes refuse ``maxLength``).
    """
    room = max(max_tokens - 200, 300)  # the keys, quotes and escapes
    bounds = {"system": int(room * 0.4), "prompt": int(room * 0.4), "rationale": int(room * 0.2)}
    properties = {k: {**v, "maxLength": bounds[k]} for k, v in PROPOSAL_SCHEMA["properties"].items()}
    return {**PROPOSAL_SCHEMA, "properties": properties}


@dataclasses.dataclass(slots=True)
class Improvement:
    """What one turn of the loop did: the split, what the model saw, its proposal, and the paired verdict.

    ``status``: ``compared`` (the candidate was evaluated), ``unchanged`` (the model proposed the same version),
    or ``nothing_to_learn`` (no failed case of the learning split, so no model was asked).
    """

    feature: str
    base: Version
    source_run: str
    split: Split
    learn_ids: list[str]
    judge_ids: list[str]
    failed_ids: list[str]  # failed learning cases the model saw
    withheld_ids: list[str]  # failed learning cases held back: no `improve` consent
    status: str
    candidate: Version | None = None
    rationale: str | None = None
    proposal_output_id: str | None = None
    provider: str | None = None
    model: str | None = None
    local_model: bool = False  # proposed by the embedded model, which is small: its report says so
    run_id: str | None = None
    report: RunReport | None = None

    @property
    def comparison(self) -> Comparison | None:
        """The paired comparison of candidate against base on the judging split."""
        return self.report.comparison if self.report is not None else None

    @property
    def better(self) -> bool:
        """True only when the paired comparison says the candidate is better."""
        return self.comparison is not None and self.comparison.verdict == "better"

    def snippet(self) -> str | None:
        """The andon.yaml lines that declare the candidate (the same id when pasted)."""
        return version_yaml(self.candidate) if self.candidate is not None else None

    def to_json(self) -> dict[str, Any]:
        """The machine-readable form ``andon improve --json`` prints."""
        cmp = self.comparison
        return {
            "feature": self.feature,
            "status": self.status,
            "base": {"name": self.base.name, "id": self.base.id},
            "candidate": {"name": self.candidate.name, "id": self.candidate.id} if self.candidate else None,
            "source_run": self.source_run,
            "split": self.split.to_json() | {"learn": len(self.learn_ids), "judge": len(self.judge_ids)},
            "failed_shown": self.failed_ids,
            "withheld_no_consent": self.withheld_ids,
            "rationale": self.rationale,
            "proposal_output_id": self.proposal_output_id,
            "provider": self.provider,
            "model": self.model,
            "run_id": self.run_id,
            "verdict": cmp.verdict if cmp else None,
            "better": self.better,
            "comparison": dataclasses.asdict(cmp) if cmp else None,
            "yaml": self.snippet(),
        }


async def aimprove(
    ws: Workspace,
    feature: str,
    version: str,
    *,
    run: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    split: Split | None = None,
    concurrency: int = 4,
) -> Improvement:
    """One turn of the loop for ``feature``'s ``version``, learning from ``run`` (default: its latest run).

    The workspace's provider connections are closed at the end, as :func:`andon.aevaluate` does.
    """
    try:
        return await _turn(ws, feature, version, run, provider, model, split or Split(), concurrency)
    finally:
        await ws.aclose_providers()


async def _turn(
    ws: Workspace,
    feature: str,
    version: str,
    run: str | None,
    provider: str | None,
    model: str | None,
    split: Split,
    concurrency: int,
) -> Improvement:
    config = ws.feature(feature)
    await asyncio.to_thread(ws.sync_versions, feature)
    base = ws.version(feature, version)
    if base.flow is not None:  # revising one agent's prompt would drop the rest of the flow
        raise ConfigError(t("flow.improve", version=base.name), hint=t("flow.improve_hint"))
    step = model_step(base)
    if step is None:
        raise ConfigError(t("improve.no_model_step", version=base.name), hint=t("improve.no_model_step_hint"))
    source = await asyncio.to_thread(_source_run, ws, feature, base, run)
    dataset = load_dataset(Path(source.dataset), ws.root)
    learn, judge = split.divide(dataset.cases)
    if not judge or not learn:
        raise ConfigError(
            t("improve.split.empty", n=len(dataset.cases), learn=len(learn), judge=len(judge)),
            where=str(dataset.path),
            hint=t("improve.split.empty_hint"),
        )
    snapshot = [Case.from_json(c) for c in await asyncio.to_thread(ws.store.run_cases, source.id)]
    cells = await asyncio.to_thread(load_cells, ws.store, source.id, base.id)
    failed = _failed_learning_cases(snapshot, cells, split)
    consent = await asyncio.to_thread(consented_cases, ws.store, failed)
    shown = consent.allowed[:MAX_SHOWN]
    result = Improvement(
        feature, base, source.id, split, [c.id for c in learn], [c.id for c in judge],
        [c.id for c in shown], consent.withheld, "nothing_to_learn",
    )  # fmt: skip
    if not shown:
        return result
    by_id = {c.case_id: c for c in cells}
    name = pick_provider(ws, base, provider)
    local = ws.config.providers[name].type == "local"
    answer = await ask_model(
        ws, "improve", provider=name, model=model, system=SYSTEM,
        prompt=improvement_prompt(feature, base, shown, by_id, _variable_names(dataset.cases), len(learn)),
        schema=bounded_proposal_schema() if local else PROPOSAL_SCHEMA,
        context={"feature": feature, "base_version": base.id, "source_run": source.id, "cases": result.failed_ids},
        masking=MaskPolicy.of(config.serve.data_use),
    )  # fmt: skip
    candidate = _candidate(ws, base, step.name, answer, _variable_names(dataset.cases))
    result.candidate, result.rationale = candidate, str(answer.parsed["rationale"]).strip()
    result.proposal_output_id, result.provider, result.model = answer.output_id, answer.provider, answer.model
    result.local_model = local
    if candidate.id == base.id:
        result.status = "unchanged"
        return result
    await asyncio.to_thread(ws.store.register_version, feature, candidate.name, candidate.id, candidate.content)
    notes = {
        JUDGING_NOTE: {
            "base": base.id, "candidate": candidate.id, "source_run": source.id,
            "proposal_output_id": answer.output_id, "rationale": result.rationale,
            "split": split.to_json() | {"learn_ids": result.learn_ids, "judge_ids": result.judge_ids},
            "failed_shown": result.failed_ids, "withheld_no_consent": result.withheld_ids,
        }
    }  # fmt: skip
    judging = dataclasses.replace(dataset, cases=judge)
    outcome = await run_evaluation(
        ws, feature, [base, candidate], judging, repeats=config.repeats, concurrency=concurrency, extra_config=notes
    )
    result.run_id, result.status = outcome.run_id, "compared"
    stored = await asyncio.to_thread(ws.store.get_run, outcome.run_id)
    result.report = await asyncio.to_thread(
        build_report, ws.store, stored, feature_for_run(stored, config), Conversion.of(ws.config),
        workspace=ws.root, with_provenance=False, compare=(base.name, candidate.name),
    )  # fmt: skip
    return result


def _source_run(ws: Workspace, feature: str, base: Version, ref: str | None) -> RunRecord:
    """The run whose failures the loop learns from: ``ref``, else the latest run of ``feature`` with ``base``."""
    if ref is not None:
        record = ws.store.get_run(ref)
        if record.feature != feature or base.id not in {vid for _, vid in record.versions}:
            raise NotFoundError(
                t("improve.run.lacks", run=record.id, version=base.name),
                where="--run",
                hint=t("improve.run.hint", feature=feature, version=base.name),
            )
        if JUDGING_NOTE in record.config:
            # Learning from a judging run would show the model the very cases candidates are judged on.
            raise ConfigError(
                t("improve.run.judging", run=record.id),
                where="--run",
                hint=t("improve.run.hint", feature=feature, version=base.name),
            )
        return record
    for record in ws.store.list_runs(feature, limit=RUNS_SEARCHED):
        if base.id in {vid for _, vid in record.versions} and JUDGING_NOTE not in record.config:
            return record
    raise NotFoundError(
        t("improve.run.none", feature=feature, version=base.name),
        hint=t("improve.run.hint", feature=feature, version=base.name),
    )


def _failed_learning_cases(cases: list[Case], cells: list[CellResult], split: Split) -> list[Case]:
    """Learning-split cases that failed in most of their repeats (a grader that could not grade tells nothing)."""
    outcomes: dict[str, list[bool]] = defaultdict(list)
    for cell in cells:
        if cell.counts:
            outcomes[cell.case_id].append(cell.passed)
    failed = {k for k, passes in outcomes.items() if sum(passes) * 2 < len(passes)}
    return [c for c in cases if c.id in failed and split.side(c.id) == "learn"]


def _variable_names(cases: list[Case]) -> list[str]:
    return sorted({name for case in cases for name in case.vars})


def _shown(value: Any) -> str:
    """A value as the model reads it: JSON, file paths as their name only, long text cut."""
    if isinstance(value, str) and ("/" in value or "\\" in value) and Path(value).suffix:
        value = f"[file {Path(value).name}]"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def improvement_prompt(
    feature: str,
    base: Version,
    failed: list[Case],
    cells: dict[str, CellResult],
    variables: list[str],
    n_learn: int,
) -> str:
    """The request text: the current step, the variables, and each failed case with what was expected and said."""
    step = model_step(base)
    assert step is not None  # the loop checked it before asking
    lines = [
        f"Feature: {feature}",
        f"Variables the template may use: {', '.join(variables) or '(none)'}",
        "Current system instructions:",
        "<<<",
        step.system or "",
        ">>>",
        "Current prompt template:",
        "<<<",
        step.prompt or "",
        ">>>",
    ]
    if step.output_schema is not None:
        lines.append(f"Output JSON schema: {json.dumps(step.output_schema, ensure_ascii=False)}")
    lines.append(f"Failed cases ({len(failed)} shown, of {n_learn} learning cases):")
    for number, case in enumerate(failed, start=1):
        cell = cells.get(case.id)
        lines.append(f"{number}. inputs: " + "; ".join(f"{k} = {_shown(v)}" for k, v in case.vars.items()))
        if case.label is not None:
            lines.append(f"   expected label: {case.label}")
        if case.expected is not None:
            lines.append(f"   expected: {_shown(case.expected)}")
        if cell is not None:
            said = cell.output_text if cell.status == "ok" else f"error: {cell.error}"
            lines.append(f"   answered: {_shown(said or '')}")
            reasons = [g.reason for g in cell.grades if not g.passed and g.reason]
            if reasons:
                lines.append(f"   why it failed: {_shown('; '.join(reasons))}")
    return "\n".join(lines)


def _candidate(ws: Workspace, base: Version, step: str, answer: Answer, variables: list[str]) -> Version:
    """The proposed version, refused when its templates do not parse or use a variable no case has."""
    system, prompt = str(answer.parsed.get("system") or ""), str(answer.parsed.get("prompt") or "")
    where = f"{answer.provider} ({answer.output_id})"
    for source in (system, prompt):
        try:
            parse_template(source)
        except TemplateSyntaxError as exc:
            raise ProviderError(
                t("improve.proposal.syntax", error=exc.message or ""), where=where, hint=t("improve.proposal.hint")
            ) from None
    candidate = derive_version(base, ws.config, step=step, system=system, prompt=prompt)
    revised = next(s for s in candidate.steps if s.name == step)
    known = set(variables) | {"steps"}
    unknown = sorted(step_variables(revised) - known)
    if unknown:
        raise ProviderError(
            t("improve.proposal.unknown_vars", names=", ".join(unknown), known=", ".join(variables) or "—"),
            where=where,
            hint=t("improve.proposal.hint"),
        )
    return candidate
