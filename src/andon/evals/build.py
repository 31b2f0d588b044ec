"""Rebuild a run's report from the store: cells, summaries, comparison and provenance."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from andon.config.graders import recorded_grader
from andon.config.schema import FeatureConfig
from andon.evals.calibration import Calibration
from andon.evals.compare import compare_cells
from andon.evals.confidence import calibrations, default_source
from andon.evals.flip_criteria import add_flip_rates
from andon.evals.model import RECORDED_FEATURE_FIELDS, Case, CellResult, Comparison, Grade, RunReport, VersionSummary
from andon.evals.slicing import CaseSlice
from andon.evals.summarize import Conversion, summarize_version
from andon.messages import t
from andon.store import Store
from andon.store.records import RunRecord


def cell_from_row(row: dict[str, Any]) -> CellResult:
    """A stored result row as a cell."""
    data = dict(row)
    data["grades"] = [Grade.from_json(g) for g in data.get("grades") or []]
    return CellResult(**data)


def load_cells(store: Store, run_id: str, version_id: str | None = None) -> list[CellResult]:
    """Every graded cell of a run (optionally one version's)."""
    return [cell_from_row(row) for row in store.iter_run_results(run_id, version_id)]


def feature_for_run(run: RunRecord, current: FeatureConfig | None) -> FeatureConfig:
    """The feature's evaluation settings as recorded with the run (criteria may be updated from andon.yaml)."""
    recorded = {k: v for k, v in run.config.items() if k in RECORDED_FEATURE_FIELDS}  # not "slice", "robustness"…
    if isinstance(recorded.get("graders"), list):
        recorded["graders"] = [recorded_grader(g) for g in recorded["graders"]]
    if current is not None:
        # Criteria and strictness are judgements about results: the current andon.yaml decides them.
        recorded.update(current.model_dump(include={"criteria", "strict", "alpha"}))
    return FeatureConfig.model_validate(recorded)


def run_info(run: RunRecord) -> RunRecord:
    """The report's header for a stored run: its slice described, its recorded settings left to the summaries."""
    described = CaseSlice.from_json(run.config.get("slice")).describe() or None
    return dataclasses.replace(run, versions=list(run.versions), case_slice=described, config={})


def build_report(
    store: Store,
    run: RunRecord,
    feature: FeatureConfig,
    convert: Conversion,
    *,
    workspace: Path | None = None,
    with_provenance: bool = True,
    compare: tuple[str, str] | None = None,
    confidence: str | None = None,
) -> RunReport:
    """Summaries per version, a comparison (first vs last version, or ``compare`` names), and every cell.

    ``confidence`` names where answers carry a confidence (``field:PATH``, ``grader:NAME``) for calibration.
    """
    cases = [Case.from_json(c) for c in store.run_cases(run.id)]
    by_id = {c.id: c for c in cases}
    cells = load_cells(store, run.id)
    if with_provenance:
        outputs = store.outputs_by_id([c.output_id for c in cells if c.output_id])
        for cell in cells:
            record = outputs.get(cell.output_id or "")
            if record is not None:
                cell.provenance = {
                    "provider": record.provider,
                    "model": record.model,
                    "params": record.params,
                    "messages": record.messages,
                    "steps": [{k: v for k, v in s.items() if k != "messages"} for s in record.steps],
                    "started_at": record.started_at.isoformat(),
                }
    summaries: list[VersionSummary] = []
    for name, version_id in run.versions:
        version_cells = [c for c in cells if c.version_id == version_id]
        summaries.append(summarize_version(version_id, name, version_cells, by_id, feature, convert))
    add_flip_rates(run, summaries, cells, cases, feature)  # flip_rate[typo] criteria of a robustness run
    comparison = None
    if len(run.versions) >= 2:
        comparison = compare_versions(run, cells, feature, compare)
    dataset_dir = None
    if workspace is not None:
        dataset_path = Path(run.dataset)
        dataset_dir = str((dataset_path if dataset_path.is_absolute() else workspace / dataset_path).parent)
    return RunReport(
        run=run_info(run),
        summaries=summaries,
        comparison=comparison,
        cases=cases,
        cells=cells,
        dataset_dir=dataset_dir,
        calibration=_calibration(run, cells, feature, confidence),
    )


def _calibration(
    run: RunRecord, cells: list[CellResult], feature: FeatureConfig, confidence: str | None
) -> list[Calibration]:
    source = confidence or default_source(feature, cells)
    return calibrations(run.versions, cells, source) if source else []


def compare_versions(
    run: RunRecord, cells: list[CellResult], feature: FeatureConfig, names: tuple[str, str] | None
) -> Comparison:
    """Compare two versions of one run (default: the first against the last)."""
    versions = dict(run.versions)
    a_name, b_name = names or (run.versions[0][0], run.versions[-1][0])
    a_id, b_id = _version_id(versions, a_name), _version_id(versions, b_name)
    return compare_cells(
        a_name,
        a_id,
        [c for c in cells if c.version_id == a_id],
        b_name,
        b_id,
        [c for c in cells if c.version_id == b_id],
        feature.alpha,
    )


def _version_id(versions: dict[str, str], ref: str) -> str:
    from andon.errors import NotFoundError

    if ref in versions:
        return versions[ref]
    matches = [vid for vid in versions.values() if vid.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    raise NotFoundError(t("house2.run.no_version", ref=ref), hint=t("house2.run.has", versions=", ".join(versions)))
