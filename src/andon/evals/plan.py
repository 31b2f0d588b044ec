"""Planning a run before it starts: which versions, which cases (a slice of the dataset), how many repeats.

Every face (the CLI, the web UI) parses its input into these arguments and calls :func:`plan_run`; resuming an
interrupted run is planned here too, so no face knows how a run is stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from andon.errors import ConfigError
from andon.evals.dataset import Dataset, load_dataset
from andon.evals.runner import Budget
from andon.evals.slicing import CaseSlice
from andon.messages import t
from andon.versions.canonical import Version
from andon.workspace import Workspace

__all__ = ["CaseSlice", "RunPlan", "parse_budget", "plan_run"]


@dataclass(frozen=True)
class RunPlan:
    """What a run will do: the versions × the (sliced) dataset's cases × repeats; ``run_id`` when resuming."""

    feature: str
    versions: list[Version]
    dataset: Dataset
    repeats: int
    run_id: str | None = None
    case_slice: CaseSlice = field(default_factory=CaseSlice)

    @property
    def total_cells(self) -> int:
        """Cells of the whole run (on resume, including those already done)."""
        return len(self.versions) * len(self.dataset.cases) * self.repeats


def plan_run(
    ws: Workspace,
    feature: str | None = None,
    *,
    versions: Sequence[str] | None = None,
    dataset: Path | None = None,
    repeats: int | None = None,
    case_slice: CaseSlice | None = None,
    resume: str | None = None,
) -> RunPlan:
    """Plan a new run of ``feature`` (every declared version, its dataset and repeats unless given), or resume one."""
    case_slice = case_slice or CaseSlice()
    if resume is not None:
        if not case_slice.is_whole or versions or dataset is not None or repeats is not None:
            raise ConfigError(t("evals.plan.resume_fixed"), where="--resume", hint=t("evals.plan.resume_hint"))
        return _resumed(ws, resume)
    if feature is None:
        names = ", ".join(ws.feature_names())
        raise ConfigError(t("evals.plan.no_feature"), hint=t("evals.plan.features", names=names))
    config = ws.feature(feature)
    source = dataset or (Path(config.dataset.path) if config.dataset else None)
    if source is None:
        raise ConfigError(
            t("evals.plan.no_dataset", feature=feature), hint=t("evals.plan.no_dataset_hint", feature=feature)
        )
    data = load_dataset(source, ws.root)
    if not case_slice.is_whole:
        data = replace(data, cases=case_slice.apply(data.cases, where=str(data.path)))
    return RunPlan(feature, _versions(ws, feature, versions), data, repeats or config.repeats, None, case_slice)


def _versions(ws: Workspace, feature: str, names: Sequence[str] | None) -> list[Version]:
    declared = ws.declared_versions(feature)
    if not declared:
        raise ConfigError(
            t("evals.plan.no_versions", feature=feature), hint=t("house2.ws.no_versions_hint", feature=feature)
        )
    if not names:
        return declared
    return [ws.version(feature, ref) for ref in names]


def _resumed(ws: Workspace, ref: str) -> RunPlan:
    """The plan of a stored run: its versions (by their names then), its cases, its repeats."""
    run = ws.store.get_run(ref)
    picked = [ws.version(run.feature, vid) for _, vid in run.versions]
    picked = [replace(v, name=name) for v, (name, _) in zip(picked, run.versions, strict=True)]
    data = load_dataset(Path(run.dataset), ws.root)
    if data.sha256 != run.dataset_sha256:
        raise ConfigError(
            t("evals.plan.dataset_changed", dataset=run.dataset, run_id=run.id), hint=t("evals.plan.new_run")
        )
    # The run's own cases: a sliced run resumes its slice, not the whole dataset.
    stored = {c["id"] for c in ws.store.run_cases(run.id)}
    data = replace(data, cases=[c for c in data.cases if c.id in stored])
    return RunPlan(run.feature, picked, data, run.repeats, run.id, CaseSlice.from_json(run.config.get("slice")))


def parse_budget(text: str | None, currency: str) -> Budget | None:
    """``"3000"``, ``"3,000 KRW"`` → a budget in the workspace's currency; another currency is refused."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*([0-9][0-9,_]*(?:\.[0-9]+)?)\s*([A-Z]{3})?\s*", text)
    if match is None:
        raise ConfigError(t("evals.plan.bad_budget", text=text), where="--budget", hint=t("evals.plan.budget_hint"))
    unit = match[2] or currency
    if unit != currency:
        raise ConfigError(
            t("evals.plan.budget_currency", unit=unit, currency=currency),
            where="--budget",
            hint=t("evals.plan.budget_currency_hint", currency=currency),
        )
    return Budget(float(match[1].replace(",", "").replace("_", "")), unit)
