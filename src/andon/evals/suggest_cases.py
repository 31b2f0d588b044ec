"""Edge cases drafted by a model for a policy, kept as drafts until a person accepts them into the dataset.

Drafts live beside the dataset in ``<name>.drafts.jsonl``, one case a line marked ``"draft": true`` with the
policy it probes and the output id of the call that wrote it (its provenance); ``andon eval`` never reads that
file, and the dataset loader refuses the draft keys, so a draft cannot be evaluated by mistake. Accepting one
appends it to the dataset in its own format (:class:`andon.review.casefile.CaseFile`) and removes the draft.
Example cases shown to the model honour each end user's ``improve`` consent (:mod:`andon.evals.case_consent`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from andon.engine.masking import MaskPolicy
from andon.errors import ConfigError, NotFoundError
from andon.evals.ask import ask_model, pick_provider
from andon.evals.case_consent import consented_cases
from andon.evals.dataset import Dataset, load_dataset
from andon.evals.model import Case
from andon.messages import t
from andon.review.casefile import CaseFile
from andon.versions.canonical import Version, canonical_json
from andon.versions.derive import model_step
from andon.versions.render import step_variables
from andon.workspace import Workspace

__all__ = [
    "DRAFT_KEYS",
    "SUGGESTED_TAG",
    "Accepted",
    "Suggested",
    "accept_drafts",
    "asuggest_cases",
    "drafts_path",
    "feature_dataset",
    "read_drafts",
    "reject_drafts",
]

SUGGESTED_TAG = "suggested"
DRAFT_KEYS = ("draft", "policy", "suggested_by")  # what a draft carries beyond a case; dropped on accepting
MAX_EXAMPLES = 5
MAX_DRAFTS = 50

SYSTEM = """\
You write test cases for an AI feature: realistic inputs at the edge of a policy, the ones a model is likely \
to get wrong (near misses, obfuscated or disguised violations, harmless look-alikes), in the language and \
style of the examples. Each case gives a value for every input variable, the label a careful person would \
give (one of the known labels when they are listed), and in `reason` why it is a hard case. Answer with \
JSON only: {"cases": [{"vars": {...}, "label": "...", "reason": "..."}]}."""


def _schema(variables: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "cases": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "vars": {
                            "type": "object",
                            "properties": {name: {"type": "string"} for name in variables},
                            "required": list(variables),
                        },
                        "label": {"type": "string"},
                        "reason": {"type": "string"},
                    },
                    "required": ["vars", "label", "reason"],
                },
            }
        },
        "required": ["cases"],
    }


@dataclass(frozen=True, slots=True)
class Suggested:
    """What a suggestion wrote: the drafts file, the new drafts, those dropped, and the examples withheld."""

    path: Path
    drafts: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0  # drafts the model wrote without every variable, or already drafted or in the dataset
    withheld_ids: list[str] = field(default_factory=list)  # example cases held back: no `improve` consent
    output_id: str | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """What accepting wrote to the dataset, what it held already, and the ids no draft has."""

    dataset: Path
    accepted: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def drafts_path(dataset: Path) -> Path:
    """``data/cases.yaml`` → ``data/cases.drafts.jsonl``."""
    return dataset.with_name(f"{dataset.stem}.drafts.jsonl")


def read_drafts(path: Path) -> list[dict[str, Any]]:
    """The drafts in ``path`` (none when the file does not exist)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    drafts = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                drafts.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(t("house2.data.json", error=exc.msg), where=f"{path}:{number}:{exc.colno}") from None
    return drafts


def _write_drafts(path: Path, drafts: list[dict[str, Any]]) -> None:
    """Replace the drafts file atomically (a crash leaves the old one)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in drafts), encoding="utf-8")
    os.replace(temporary, path)


def feature_dataset(ws: Workspace, feature: str) -> Dataset:
    """The feature's own dataset, loaded; a feature without one is a ConfigError."""
    source = ws.feature(feature).dataset
    if source is None:
        raise ConfigError(
            t("evals.plan.no_dataset", feature=feature), hint=t("evals.plan.no_dataset_hint", feature=feature)
        )
    return load_dataset(Path(source), ws.root)


def _text_variables(version: Version, cases: Sequence[Case]) -> list[str]:
    """Variables a draft must fill: those the model step's templates read (images cannot be drafted)."""
    step = model_step(version)
    used = step_variables(step) - set(step.images) if step is not None else set()
    return sorted(used or {name for case in cases for name in case.vars})


def suggestion_prompt(policy: str, version: Version, examples: Sequence[Case], labels: Sequence[str], n: int) -> str:
    """The request text: the policy, the feature's prompt, the known labels and a few example cases."""
    step = model_step(version)
    lines = [f"Policy to probe: {policy}", f"Write {n} new cases."]
    if step is not None:
        lines += ["The feature's prompt template:", "<<<", step.prompt or "", ">>>"]
    if labels:
        lines.append(f"Known labels: {', '.join(labels)}")
    if examples:
        lines.append("Example cases:")
        for case in examples:
            lines.append(json.dumps({"vars": case.vars, "label": case.label}, ensure_ascii=False, default=str))
    return "\n".join(lines)


async def asuggest_cases(
    ws: Workspace,
    feature: str,
    policy: str,
    *,
    n: int = 5,
    version: str | None = None,
    provider: str | None = None,
    model: str | None = None,
) -> Suggested:
    """Ask a model for ``n`` edge cases of ``policy`` and append them to the feature's drafts file."""
    try:
        return await _suggest(ws, feature, policy, n, version, provider, model)
    finally:
        await ws.aclose_providers()  # as andon.aevaluate: ws.close() cannot close them inside a running loop


async def _suggest(
    ws: Workspace, feature: str, policy: str, n: int, version: str | None, provider: str | None, model: str | None
) -> Suggested:
    if not policy.strip():
        raise ConfigError(t("improve.suggest.no_policy"), where="--policy", hint=t("improve.suggest.no_policy_hint"))
    if not 1 <= n <= MAX_DRAFTS:
        raise ConfigError(t("improve.suggest.count", n=n, most=MAX_DRAFTS), where="--n")
    dataset = feature_dataset(ws, feature)
    base = ws.version(feature, version)
    consent = await asyncio.to_thread(consented_cases, ws.store, dataset.cases)
    examples = consent.allowed[:MAX_EXAMPLES]
    labels = sorted({c.label for c in dataset.cases if c.label is not None})
    variables = _text_variables(base, dataset.cases)
    answer = await ask_model(
        ws, "suggest", provider=pick_provider(ws, base, provider), model=model, system=SYSTEM,
        prompt=suggestion_prompt(policy, base, examples, labels, n), schema=_schema(variables),
        context={"feature": feature, "policy": policy, "examples": [c.id for c in examples]}, strict=False,
        masking=MaskPolicy.of(ws.feature(feature).serve.data_use),
    )  # fmt: skip
    path = drafts_path(dataset.path)
    existing = read_drafts(path)
    taken = {str(d.get("id")) for d in existing} | {c.id for c in dataset.cases}
    drafts: list[dict[str, Any]] = []
    proposed = answer.parsed.get("cases")
    proposed = proposed if isinstance(proposed, list) else []
    for item in proposed[:n]:
        draft = _draft(item, variables, policy, answer.output_id)
        if draft is None or draft["id"] in taken:
            continue
        taken.add(draft["id"])
        drafts.append(draft)
    if drafts:
        await asyncio.to_thread(_write_drafts, path, existing + drafts)
    return Suggested(path, drafts, len(proposed) - len(drafts), consent.withheld, answer.output_id)


def _draft(item: Any, variables: Sequence[str], policy: str, output_id: str) -> dict[str, Any] | None:
    """One proposed case as a draft, or None when it lacks a variable; its id is a hash of its inputs."""
    if not isinstance(item, dict) or not isinstance(item.get("vars"), dict):
        return None
    values = {k: v for k, v in item["vars"].items() if isinstance(k, str)}
    if any(not isinstance(values.get(name), str) or not values[name].strip() for name in variables):
        return None
    digest = hashlib.sha256(canonical_json(values).encode("utf-8")).hexdigest()[:10]
    draft: dict[str, Any] = {"id": f"draft-{digest}", "vars": values}
    if isinstance(item.get("label"), str) and item["label"].strip():
        draft["label"] = item["label"].strip()
    draft["tags"] = [SUGGESTED_TAG]
    if isinstance(item.get("reason"), str) and item["reason"].strip():
        draft["reason"] = item["reason"].strip()
    return draft | {"draft": True, "policy": policy, "suggested_by": output_id}


def _picked(drafts: list[dict[str, Any]], ids: Sequence[str] | None) -> tuple[list[dict[str, Any]], list[str]]:
    if ids is None:
        return list(drafts), []
    by_id = {str(d.get("id")): d for d in drafts}
    return [by_id[i] for i in ids if i in by_id], [i for i in ids if i not in by_id]


def accept_drafts(ws: Workspace, feature: str, ids: Sequence[str] | None = None) -> Accepted:
    """Append the drafts ``ids`` (all with None) to the feature's dataset, as cases, and remove them as drafts."""
    dataset = feature_dataset(ws, feature)
    path = drafts_path(dataset.path)
    drafts = read_drafts(path)
    picked, unknown = _picked(drafts, ids)
    if not drafts and ids is None:
        raise NotFoundError(t("improve.accept.none", path=path), hint=t("improve.accept.none_hint", feature=feature))
    file = CaseFile.open(dataset.path)
    fresh = [d for d in picked if str(d["id"]) not in file.cases]
    file.append([{k: v for k, v in d.items() if k not in DRAFT_KEYS} for d in fresh])  # checked by reading back
    done = {str(d["id"]) for d in picked}
    _write_drafts(path, [d for d in drafts if str(d.get("id")) not in done])
    there = [str(d["id"]) for d in picked if d not in fresh]
    return Accepted(dataset.path, [str(d["id"]) for d in fresh], there, unknown)


def reject_drafts(ws: Workspace, feature: str, ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """Remove the drafts ``ids``; (removed, unknown)."""
    path = drafts_path(feature_dataset(ws, feature).path)
    drafts = read_drafts(path)
    picked, unknown = _picked(drafts, ids)
    gone = {str(d["id"]) for d in picked}
    _write_drafts(path, [d for d in drafts if str(d.get("id")) not in gone])
    return sorted(gone), unknown
