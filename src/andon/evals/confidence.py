"""Where an answer's confidence comes from: an output field (``field:PATH``), a grader's score (``grader:NAME``),
or the model's token log-probabilities of the value at PATH (``logprob:PATH``, steps with ``params.logprobs``).

Correctness is the cell's pass; cells that failed to run measured nothing and are left out. The default source is
the feature's ``serve.routing.confidence_path`` read as its ``confidence_source`` says (what the gateway routes
on), else a top-level ``confidence`` field, else, when the answers recorded logprobs, ``logprob:`` the path of the
feature's label grader.
"""

from __future__ import annotations

from collections.abc import Sequence

from andon.config.json_values import MissingPath, lookup, parse_number, split_path
from andon.config.schema import FeatureConfig
from andon.errors import ConfigError
from andon.evals.calibration import Calibration, Point, summarize_calibration
from andon.evals.logprob_confidence import logprob_confidence
from andon.evals.model import CellResult
from andon.messages import t

__all__ = ["calibrations", "confidence_points", "default_source", "parse_source"]

FIELD, GRADER, LOGPROB = "field", "grader", "logprob"


def parse_source(text: str) -> tuple[str, str]:
    """``field:PATH``, ``grader:NAME``, ``logprob:PATH`` or a bare PATH (a field) as ``(kind, name)``."""
    kind, sep, name = text.partition(":")
    if not sep:
        kind, name = FIELD, text
    kind, name = kind.strip(), name.strip()
    if kind not in (FIELD, GRADER, LOGPROB) or not name:
        raise ConfigError(t("evalcal.source.unreadable", text=text), hint=t("evalcal.source.hint"))
    if kind in (FIELD, LOGPROB):
        split_path(name, "--confidence")  # refuses a malformed path with its own message
    return kind, name


def _value(cell: CellResult, kind: str, name: str) -> float | None:
    if kind == GRADER:
        grade = next((g for g in cell.grades if g.grader == name and not g.error), None)
        return None if grade is None else grade.score
    if kind == LOGPROB:
        return logprob_confidence(cell, name)
    try:
        found = lookup(cell.output_json, split_path(name, "--confidence"))
    except MissingPath:
        return None
    return parse_number(found)


def confidence_points(cells: Sequence[CellResult], source: str) -> tuple[list[Point], int]:
    """The points of the cells that ran, and how many of those had no usable confidence (missing or outside 0–1)."""
    kind, name = parse_source(source)
    points: list[Point] = []
    skipped = 0
    for cell in cells:
        if cell.failed_to_run:
            continue
        value = _value(cell, kind, name)
        if value is None or not 0.0 <= value <= 1.0:
            skipped += 1
            continue
        points.append(Point(value, bool(cell.passed)))
    return points, skipped


def default_source(feature: FeatureConfig, cells: Sequence[CellResult]) -> str | None:
    """The routing's confidence path, else ``field:confidence`` when answers carry one, else the label's logprobs."""
    routing = feature.serve.routing
    if routing.confidence_path:
        return f"{LOGPROB if routing.confidence_source == 'logprob' else FIELD}:{routing.confidence_path}"
    for cell in cells:
        answer = cell.output_json
        if isinstance(answer, dict) and parse_number(answer.get("confidence")) is not None:
            return f"{FIELD}:confidence"
    paths = (getattr(g, "path", None) for g in feature.graders if g.type == "label")
    label_path = next((p for p in paths if isinstance(p, str) and p), None)
    if label_path and any(_recorded_logprobs(cell) for cell in cells):
        return f"{LOGPROB}:{label_path}"
    return None


def _recorded_logprobs(cell: CellResult) -> bool:
    return any(isinstance(s.get("logprobs"), list) for s in (cell.provenance or {}).get("steps") or [])


def calibrations(versions: Sequence[tuple[str, str]], cells: Sequence[CellResult], source: str) -> list[Calibration]:
    """One calibration per ``(name, version id)`` that has at least one usable confidence."""
    out = []
    for name, version_id in versions:
        points, skipped = confidence_points([c for c in cells if c.version_id == version_id], source)
        if points:
            out.append(summarize_calibration(version_id, name, source, points, skipped))
    return out
