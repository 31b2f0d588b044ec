"""Calibration and selective automation: a confidence against correctness, and the threshold that automates safely.

Pure functions on ``(confidence, correct)`` points: reliability bins, expected calibration error (ECE), the
risk–coverage curve (automate every answer at or above a threshold), and the lowest threshold whose exact
(Clopper–Pearson) lower bound on precision reaches a target. The gateway automates ``confidence >= min_confidence``,
the same rule as here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from andon.errors import ConfigError
from andon.evals.exact import clopper_pearson
from andon.evals.stats import wilson_interval
from andon.messages import t

__all__ = [
    "Calibration",
    "CurvePoint",
    "Point",
    "ReliabilityBin",
    "RoutingSuggestion",
    "RoutingTarget",
    "calibration_from_dict",
    "expected_calibration_error",
    "parse_target",
    "reliability_bins",
    "risk_coverage",
    "suggest_from_curve",
    "suggest_threshold",
    "summarize_calibration",
]

BINS = 10
CONFIDENCE = 0.95
_TARGET = re.compile(r"^\s*precision\s*(?P<op>>=|>)\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<pct>%)?\s*$")


@dataclass(frozen=True, slots=True)
class Point:
    """One answer: the confidence it came with (0–1) and whether it was right."""

    confidence: float
    correct: bool


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """Answers with confidence in ``[low, high)`` (the last bin includes 1): their mean confidence and accuracy."""

    low: float
    high: float
    n: int
    mean_confidence: float | None
    accuracy: float | None
    accuracy_low: float | None  # Wilson interval of the accuracy
    accuracy_high: float | None


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """Automating every answer with confidence >= ``threshold``: how many, the share, and their precision."""

    threshold: float
    automated: int
    correct: int
    coverage: float
    precision: float


@dataclass(frozen=True, slots=True)
class RoutingTarget:
    """A precision target, ``precision >= 0.99`` (``op`` is ``>=`` or ``>``)."""

    text: str
    op: str
    value: float

    def holds(self, value: float) -> bool:
        """Whether ``value`` reaches the target."""
        return value >= self.value if self.op == ">=" else value > self.value


@dataclass(frozen=True, slots=True)
class RoutingSuggestion:
    """The lowest threshold whose precision's lower bound reaches the target, with the share it automates.

    ``threshold`` is None when no threshold reaches it; ``best_low`` is then the highest lower bound there was.
    """

    target: str
    threshold: float | None
    n: int
    automated: int = 0
    precision: float | None = None
    precision_low: float | None = None
    precision_high: float | None = None
    coverage: float | None = None
    coverage_low: float | None = None
    coverage_high: float | None = None
    best_low: float | None = None
    confidence_level: float = CONFIDENCE


@dataclass(frozen=True, slots=True)
class Calibration:
    """One version's calibration in a run: the confidence source, the bins, ECE and the risk–coverage curve."""

    version_id: str
    version_name: str
    source: str
    n: int
    skipped: int  # answers with no usable confidence (missing, not a number, outside 0–1)
    ece: float | None
    bins: list[ReliabilityBin] = field(default_factory=list)
    curve: list[CurvePoint] = field(default_factory=list)


def reliability_bins(points: Sequence[Point], bins: int = BINS) -> list[ReliabilityBin]:
    """Equal-width bins over [0, 1]; a confidence of exactly 1 falls in the last bin."""
    members: list[list[Point]] = [[] for _ in range(bins)]
    for point in points:
        members[min(bins - 1, int(point.confidence * bins))].append(point)
    out = []
    for i, group in enumerate(members):
        low, high = i / bins, (i + 1) / bins
        if not group:
            out.append(ReliabilityBin(low, high, 0, None, None, None, None))
            continue
        right = sum(p.correct for p in group)
        w_low, w_high = wilson_interval(right, len(group), CONFIDENCE)
        mean_conf = math.fsum(p.confidence for p in group) / len(group)
        out.append(ReliabilityBin(low, high, len(group), mean_conf, right / len(group), w_low, w_high))
    return out


def expected_calibration_error(bins: Sequence[ReliabilityBin]) -> float | None:
    """ECE: the bins' ``|accuracy − mean confidence|`` weighted by their share of answers; None without answers."""
    total = sum(b.n for b in bins)
    if total == 0:
        return None
    return math.fsum(b.n / total * abs((b.accuracy or 0.0) - (b.mean_confidence or 0.0)) for b in bins if b.n)


def risk_coverage(points: Sequence[Point]) -> list[CurvePoint]:
    """One point per distinct confidence, highest first: automate every answer at or above it."""
    ordered = sorted(points, key=lambda p: -p.confidence)
    out: list[CurvePoint] = []
    automated = correct = 0
    for i, point in enumerate(ordered):
        automated += 1
        correct += point.correct
        if i + 1 < len(ordered) and ordered[i + 1].confidence == point.confidence:
            continue  # ties go together: the gateway cannot split answers of equal confidence
        out.append(CurvePoint(point.confidence, automated, correct, automated / len(ordered), correct / automated))
    return out


def parse_target(text: str) -> RoutingTarget:
    """``precision >= 0.99`` (or ``99%``) as a target, or a ConfigError naming the option and the form it takes."""
    match = _TARGET.match(text)
    if match is None:
        raise ConfigError(t("evalcal.target.unreadable", text=text), hint=t("evalcal.target.hint"))
    value = float(match["value"]) / (100.0 if match["pct"] else 1.0)
    if not 0.0 < value < 1.0:
        raise ConfigError(t("evalcal.target.range", text=text), hint=t("evalcal.target.hint"))
    return RoutingTarget(text.strip(), match["op"], value)


def suggest_threshold(
    points: Sequence[Point], target: RoutingTarget, confidence: float = CONFIDENCE
) -> RoutingSuggestion:
    """The lowest threshold whose Clopper–Pearson lower bound on precision reaches ``target``.

    Judged on the lower bound, not the estimate, so a handful of lucky answers does not open the gate; a
    threshold needs enough automated answers that even the pessimistic precision reaches the target.
    """
    return suggest_from_curve(risk_coverage(points), target, confidence)


def suggest_from_curve(
    curve: Sequence[CurvePoint], target: RoutingTarget, confidence: float = CONFIDENCE
) -> RoutingSuggestion:
    """:func:`suggest_threshold` on a risk–coverage curve (what a stored report keeps)."""
    best: tuple[CurvePoint, float, float] | None = None
    best_low: float | None = None
    for point in curve:
        if not target.holds(point.precision):
            continue  # the lower bound is below the estimate: no need to compute it
        low, high = clopper_pearson(point.correct, point.automated, confidence)
        best_low = low if best_low is None else max(best_low, low)
        if target.holds(low) and (best is None or point.automated > best[0].automated):
            best = (point, low, high)
    n = curve[-1].automated if curve else 0
    if best is None:
        return RoutingSuggestion(target.text, None, n, best_low=best_low, confidence_level=confidence)
    point, low, high = best
    c_low, c_high = wilson_interval(point.automated, n, confidence)
    return RoutingSuggestion(
        target.text, point.threshold, n, point.automated, point.precision, low, high, point.coverage,
        c_low, c_high, low, confidence,
    )  # fmt: skip


def summarize_calibration(
    version_id: str, version_name: str, source: str, points: Sequence[Point], skipped: int, bins: int = BINS
) -> Calibration:
    """Bins, ECE and curve of one version's points."""
    found = reliability_bins(points, bins)
    return Calibration(
        version_id, version_name, source, len(points), skipped, expected_calibration_error(found), found,
        risk_coverage(points),
    )  # fmt: skip


def calibration_from_dict(data: dict[str, Any]) -> Calibration:
    """Inverse of the report's JSON form of a :class:`Calibration`."""
    return Calibration(
        data["version_id"], data["version_name"], data["source"], int(data["n"]), int(data.get("skipped", 0)),
        data.get("ece"), [ReliabilityBin(**b) for b in data.get("bins") or []],
        [CurvePoint(**c) for c in data.get("curve") or []],
    )  # fmt: skip
