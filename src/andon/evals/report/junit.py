"""JUnit XML for CI systems: one testsuite per version, a testcase per criterion and per case."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

from andon.evals.model import CellResult, CriterionResult, RunReport, VersionSummary
from andon.evals.report import _format as f
from andon.evals.report import _view as v

__all__ = ["junit_xml", "write_junit"]


def _text(value: object) -> str:
    return f.clean(str(value))


def _criterion_case(suite: ET.Element, classname: str, c: CriterionResult, currency: str, language: str) -> int:
    case = ET.SubElement(suite, "testcase", classname=classname, name=_text(c.text), time="0")
    if c.passed:
        return 0
    texts = v.criterion_texts(c, currency, language)
    message = f.tr(
        "junit.criterion_failed",
        language,
        value=f"{texts['value']} {texts['interval']}".strip(),
        threshold=texts["threshold"],
        judged=texts["judged"],
        judged_value=texts["judged_value"],
    )
    failure = ET.SubElement(case, "failure", message=_text(message), type="criterion")
    failure.text = _text(f"{c.text}\n{message}" + (f"\n{c.note}" if c.note else ""))
    return 1


def _cell_lines(cells: list[CellResult], language: str) -> list[str]:
    lines = []
    for cell in cells:
        head = f.tr("junit.repeat", language, repeat=cell.repeat + 1, score=f"{cell.score:.2f}")
        if cell.failed_to_run:
            lines.append(f"{head}: {f.tr('status.error', language)}: {v.cell_error(cell) or ''}")
            continue
        if cell.passed:
            continue
        lines.append(f"{head}: {f.tr('status.failed', language)}; output id {cell.output_id or '—'}")
        lines.extend(f"  {g.grader} {g.score:.2f}: {g.reason_in(language) or ''}" for g in cell.grades if not g.passed)
        if cell.output_text:
            lines.append(f"  > {f.one_line(cell.output_text, 400)}")
    return lines


def _case_case(suite: ET.Element, classname: str, case_id: str, cells: list[CellResult], language: str) -> str:
    seconds = math.fsum(c.latency_ms for c in cells) / 1000
    case = ET.SubElement(suite, "testcase", classname=classname, name=_text(case_id), time=f"{seconds:.3f}")
    status = v.cells_status(cells)
    failed = sum(1 for c in cells if not c.failed_to_run and not c.passed)
    errored = sum(1 for c in cells if c.failed_to_run)
    details = _text("\n".join(_cell_lines(cells, language)))
    if status == "failed":
        message = f.tr("junit.case_failed", language, failed=failed, errored=errored, repeats=len(cells))
        ET.SubElement(case, "failure", message=_text(message), type="case").text = details
    elif status == "error":
        message = f.tr("junit.case_error", language, errored=errored, repeats=len(cells))
        ET.SubElement(case, "error", message=_text(message), type="call").text = details
    elif status == "missing":
        ET.SubElement(case, "skipped", message=_text(f.tr("case.not_run", language)))
    elif status == "parked":  # a tool call waits for a person: not a failure, and not yet a pass
        ET.SubElement(case, "skipped", message=_text(f.tr("case.parked", language)))
    return status


def _suite(root: ET.Element, report: RunReport, s: VersionSummary, language: str) -> None:
    feature = report.run.feature
    suite = ET.SubElement(root, "testsuite", name=_text(f"{feature} / {s.version_name}"))
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("run_id", report.run.id),
        ("version_id", s.version_id),
        ("dataset", report.run.dataset),
        ("dataset_sha256", report.run.dataset_sha256),
        ("repeats", report.run.repeats),
        ("gate_passed", str(s.gate_passed).lower()),
    ):
        ET.SubElement(props, "property", name=name, value=_text(value))
    failures = errors = skipped = tests = 0
    for c in s.criteria:
        failures += _criterion_case(
            suite, f"andon.{feature}.{s.version_name}.criteria", c, report.run.currency, language
        )
        tests += 1
    for reason in s.gate_errors:
        case = ET.SubElement(suite, "testcase", classname=f"andon.{feature}.{s.version_name}.gate", name="gate")
        ET.SubElement(case, "error", message=_text(reason), type="gate").text = _text(reason)
        errors += 1
        tests += 1
    total_seconds = 0.0
    for view in v.case_views(report):
        cells = view.cells.get(s.version_id, [])
        status = _case_case(suite, f"andon.{feature}.{s.version_name}.cases", view.case.id, cells, language)
        total_seconds += math.fsum(c.latency_ms for c in cells) / 1000
        tests += 1
        failures += status == "failed"
        errors += status == "error"
        skipped += status in ("missing", "parked")
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    suite.set("time", f"{total_seconds:.3f}")
    suite.set("timestamp", report.run.created_at.isoformat(timespec="seconds"))


def junit_xml(report: RunReport, language: str = "en") -> str:
    """The report as a JUnit XML document (text)."""
    root = ET.Element("testsuites", name=_text(f"andon {report.run.feature} {report.run.id}"))
    for s in report.summaries:
        _suite(root, report, s, language)
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(suite.get(attr, "0")) for suite in root)))
    root.set("time", f"{sum(float(suite.get('time', '0')) for suite in root):.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(report: RunReport, path: str | Path, language: str = "en") -> None:
    """Write :func:`junit_xml` to ``path`` (UTF-8)."""
    Path(path).write_text(junit_xml(report, language), encoding="utf-8")
