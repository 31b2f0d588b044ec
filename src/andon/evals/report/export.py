"""JSON and CSV exports: the whole report as JSON (and back), one CSV row per cell."""

from __future__ import annotations

import csv
import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from andon.errors import AndonError
from andon.evals.calibration import calibration_from_dict
from andon.evals.metrics import ClassificationReport, LabelStats, MetricValue
from andon.evals.model import (
    Case,
    CellResult,
    Comparison,
    CriterionResult,
    ErrorGroup,
    FlippedCase,
    Grade,
    JudgeAgreement,
    MetricDelta,
    RunReport,
    SliceSummary,
    VersionSummary,
)
from andon.evals.stability import StabilityReport
from andon.messages import t
from andon.store.records import RunRecord

__all__ = [
    "CSV_COLUMNS",
    "FORMAT",
    "ReportFormatError",
    "read_json",
    "report_from_dict",
    "report_to_dict",
    "write_csv",
    "write_json",
]

FORMAT = "andon.run_report"
FORMAT_VERSION = 1
CSV_COLUMNS = (
    "run_id", "version_name", "version_id", "case_id", "repeat", "status", "passed", "score",
    "expected_label", "predicted_label", "latency_ms", "input_tokens", "output_tokens", "cost", "currency",
    "cached", "output_id", "output_text", "error", "grades",
)  # fmt: skip
# Spreadsheets run cells starting with these as formulas; model text must not become one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

T = TypeVar("T")


class ReportFormatError(AndonError):
    """A saved report cannot be read back (not a report, or a newer format)."""


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {fld.name: _encode(getattr(value, fld.name)) for fld in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _encode(x) for k, x in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(x) for x in value]
    return value


def report_to_dict(report: RunReport) -> dict[str, Any]:
    """The whole report as JSON-ready data (dataclasses as dicts, datetimes as ISO 8601)."""
    data: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
    data.update(_encode(report))
    data["run"].pop("config", None)  # the run's recorded settings belong to the store, not the report
    return data


def _build(cls: type[T], data: dict[str, Any], **overrides: Any) -> T:
    # Unknown keys are ignored so a newer writer's extra fields do not stop an older reader.
    names = {fld.name for fld in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {k: x for k, x in data.items() if k in names}
    kwargs.update(overrides)
    return cls(**kwargs)


def _classification(data: dict[str, Any] | None) -> ClassificationReport | None:
    if data is None:
        return None
    return _build(
        ClassificationReport,
        data,
        labels=tuple(data["labels"]),
        per_label=tuple(_build(LabelStats, x) for x in data["per_label"]),
        macro_labels=tuple(data["macro_labels"]),
        confusion=tuple(tuple(row) for row in data["confusion"]),
    )


def _stability(data: dict[str, Any] | None) -> StabilityReport | None:
    if data is None:
        return None
    return _build(
        StabilityReport,
        data,
        pass_at_k={int(k): x for k, x in data["pass_at_k"].items()},
        pass_hat_k={int(k): x for k, x in data["pass_hat_k"].items()},
        flipped=tuple(data["flipped"]),
    )


def _summary(data: dict[str, Any]) -> VersionSummary:
    return _build(
        VersionSummary,
        data,
        metrics={k: _build(MetricValue, x) for k, x in data["metrics"].items()},
        classification=_classification(data.get("classification")),
        stability=_stability(data.get("stability")),
        criteria=[_build(CriterionResult, x) for x in data["criteria"]],
        judges=[_build(JudgeAgreement, x) for x in data["judges"]],
        first_errors=[_build(ErrorGroup, x) for x in data.get("first_errors") or []],
        slices=[_build(SliceSummary, x) for x in data.get("slices") or []],
    )


def _comparison(data: dict[str, Any] | None) -> Comparison | None:
    if data is None:
        return None
    return _build(
        Comparison,
        data,
        deltas=[_build(MetricDelta, x) for x in data["deltas"]],
        flipped=[_build(FlippedCase, x) for x in data["flipped"]],
    )


def _run(data: dict[str, Any]) -> RunRecord:
    finished = data.get("finished_at")
    return _build(
        RunRecord,
        data,
        created_at=datetime.fromisoformat(data["created_at"]),
        finished_at=datetime.fromisoformat(finished) if finished else None,
        versions=[(name, vid) for name, vid in data["versions"]],
    )


def report_from_dict(data: dict[str, Any]) -> RunReport:
    """Rebuild a report from :func:`report_to_dict` output (e.g. a saved JSON file)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ReportFormatError(t("house2.report.not_report"), hint=t("house2.report.not_report_hint"))
    if int(data.get("format_version", 0)) > FORMAT_VERSION:
        raise ReportFormatError(
            t("house2.report.newer", version=data["format_version"], supported=FORMAT_VERSION),
            hint=t("house2.report.newer_hint"),
        )
    try:
        return RunReport(
            run=_run(data["run"]),
            summaries=[_summary(x) for x in data["summaries"]],
            comparison=_comparison(data.get("comparison")),
            cases=[Case.from_json(x) for x in data["cases"]],
            cells=[
                _build(CellResult, x, grades=[Grade.from_json(g) for g in x.get("grades", [])]) for x in data["cells"]
            ],
            dataset_dir=data.get("dataset_dir"),
            calibration=[calibration_from_dict(x) for x in data.get("calibration") or []],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportFormatError(
            t("house2.report.damaged", type=type(exc).__name__, error=exc),
            hint=t("house2.report.damaged_hint"),
        ) from exc


def write_json(report: RunReport, path: str | Path) -> None:
    """Write the whole report as UTF-8 JSON."""
    text = json.dumps(report_to_dict(report), ensure_ascii=False, indent=2)
    Path(path).write_text(text + "\n", encoding="utf-8")


def read_json(path: str | Path) -> RunReport:
    """Read a report written by :func:`write_json`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportFormatError(
            t("house2.report.json", error=exc.msg), where=f"{path}:{exc.lineno}:{exc.colno}"
        ) from exc
    except OSError as exc:
        raise ReportFormatError(t("house2.report.read", error=exc.strerror), where=str(path)) from exc
    return report_from_dict(data)


def _safe(value: Any) -> Any:
    """A cell no spreadsheet runs as a formula: text (model output, ids, labels) or a number alike."""
    if value is None:
        return ""
    text = str(value)  # what the csv module writes, numbers included (-0.0, a negative latency)
    return "'" + text if text.startswith(_FORMULA_START) else value


def _row(cell: CellResult) -> list[Any]:
    return [
        cell.run_id,
        cell.version_name,
        cell.version_id,
        cell.case_id,
        cell.repeat,
        cell.status,
        cell.passed,
        cell.score,
        cell.expected_label,
        cell.predicted_label,
        cell.latency_ms,
        cell.input_tokens,
        cell.output_tokens,
        cell.cost,
        cell.currency,
        cell.cached,
        cell.output_id,
        cell.output_text,
        cell.error,
        json.dumps([g.to_json() for g in cell.grades], ensure_ascii=False, default=str),
    ]


def write_csv(report: RunReport, path: str | Path) -> None:
    """One row per cell (version × case × repeat), UTF-8 with a BOM so spreadsheets read Korean correctly.

    Every cell that would start a spreadsheet formula (``=``, ``+``, ``-``, ``@``, tab, CR) gets a leading
    apostrophe: case ids and labels come from datasets, predicted labels and outputs from the model.
    """
    with Path(path).open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for cell in report.cells:
            writer.writerow([_safe(x) for x in _row(cell)])
