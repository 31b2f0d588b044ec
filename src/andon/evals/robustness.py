"""Flip rates: how often a perturbed case's answer differs from its original's, with a Wilson interval.

A pair flips when the two answers differ: the predicted labels when both have one, else pass/fail. A pair
with a failed call or an ungradable output on either side is not compared (and is counted as such). With
repeats, each side's answer is its most common label (or its majority pass) over the repeats.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from andon.evals.model import Case, CellResult
from andon.evals.stats import wilson_interval

__all__ = ["ANY", "FlipRate", "FlippedCase", "Pair", "RobustnessReport", "flip_report"]

CONFIDENCE = 0.95
ANY = "*"  # the row of original cases that flipped under at least one perturbation


@dataclass(frozen=True, slots=True)
class Pair:
    """A perturbed case and the original it is compared with."""

    case_id: str
    original_id: str
    perturbation: str
    output_id: str | None = None  # the paraphrase's own call, when a model wrote it

    def to_json(self) -> dict[str, Any]:
        """JSON form recorded with the run."""
        return {"of": self.original_id, "perturbation": self.perturbation, "output_id": self.output_id}

    @classmethod
    def from_json(cls, case_id: str, data: Mapping[str, Any]) -> Pair:
        """Inverse of :meth:`to_json`."""
        return cls(case_id, str(data["of"]), str(data["perturbation"]), data.get("output_id"))


@dataclass(frozen=True, slots=True)
class FlippedCase:
    """One pair whose answers differ: what changed in the input and what each answer was."""

    version_name: str
    perturbation: str
    original_id: str
    case_id: str
    changes: dict[str, tuple[Any, Any]]  # variable -> (original value, perturbed value)
    original: str  # the original answer: its label, or pass/fail
    perturbed: str
    direction: str  # "broke" (passed, now fails), "fixed", or "changed" (another label, same pass)
    output_id: str | None = None


@dataclass(frozen=True, slots=True)
class FlipRate:
    """One version's flip rate under one perturbation (``ANY``: under at least one)."""

    version_name: str
    perturbation: str
    pairs: int  # compared pairs
    flips: int
    low: float
    high: float
    broke: int = 0
    fixed: int = 0
    not_compared: int = 0

    @property
    def rate(self) -> float:
        """Share of compared pairs that flipped (0 with none compared)."""
        return self.flips / self.pairs if self.pairs else 0.0


@dataclass
class RobustnessReport:
    """Flip rates per version and perturbation, and every flipped pair."""

    run_id: str
    seed: int
    perturbations: list[str]
    rates: list[FlipRate] = field(default_factory=list)
    flipped: list[FlippedCase] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Answer:
    label: str | None
    passed: bool

    def shown(self) -> str:
        return self.label if self.label is not None else ("pass" if self.passed else "fail")


def _answer(cells: Sequence[CellResult]) -> _Answer | None:
    """One side's answer over its repeats; None when any repeat could not be run or graded."""
    if not cells or any(c.status == "error" or c.grading_error is not None for c in cells):
        return None
    labels = Counter(c.predicted_label for c in cells if c.predicted_label is not None)
    label = min(labels, key=lambda k: (-labels[k], k)) if labels else None  # the commonest, ties by name
    return _Answer(label, 2 * sum(c.passed for c in cells) > len(cells))


def _flipped(a: _Answer, b: _Answer) -> bool:
    if a.label is not None and b.label is not None:
        return a.label != b.label
    return a.passed != b.passed


def _direction(a: _Answer, b: _Answer) -> str:
    if a.passed and not b.passed:
        return "broke"
    if b.passed and not a.passed:
        return "fixed"
    return "changed"


def _changes(original: Case | None, perturbed: Case | None) -> dict[str, tuple[Any, Any]]:
    if original is None or perturbed is None:
        return {}
    return {k: (original.vars.get(k), v) for k, v in perturbed.vars.items() if original.vars.get(k) != v}


def _rate(version: str, name: str, pairs: int, flips: int, broke: int, fixed: int, skipped: int) -> FlipRate:
    low, high = wilson_interval(flips, pairs, CONFIDENCE)
    return FlipRate(version, name, pairs, flips, low, high, broke, fixed, skipped)


def flip_report(
    run_id: str,
    seed: int,
    pairs: Sequence[Pair],
    versions: Sequence[tuple[str, str]],
    cells: Sequence[CellResult],
    cases: Sequence[Case] = (),
) -> RobustnessReport:
    """The flip rates of each version (``(name, id)``) over ``pairs``, from the run's ``cells``."""
    by_case: dict[tuple[str, str], list[CellResult]] = defaultdict(list)
    for cell in cells:
        by_case[(cell.version_id, cell.case_id)].append(cell)
    case_of = {c.id: c for c in cases}
    names = list(dict.fromkeys(p.perturbation for p in pairs))
    report = RobustnessReport(run_id, seed, names)
    for version_name, version_id in versions:
        any_flip: dict[str, bool] = {}
        for name in names:
            flips = broke = fixed = skipped = compared = 0
            for pair in (p for p in pairs if p.perturbation == name):
                a = _answer(by_case.get((version_id, pair.original_id), []))
                b = _answer(by_case.get((version_id, pair.case_id), []))
                if a is None or b is None:
                    skipped += 1
                    continue
                compared += 1
                flipped = _flipped(a, b)
                any_flip[pair.original_id] = any_flip.get(pair.original_id, False) or flipped
                if not flipped:
                    continue
                flips += 1
                direction = _direction(a, b)
                broke += direction == "broke"
                fixed += direction == "fixed"
                report.flipped.append(
                    FlippedCase(
                        version_name, name, pair.original_id, pair.case_id,
                        _changes(case_of.get(pair.original_id), case_of.get(pair.case_id)),
                        a.shown(), b.shown(), direction, pair.output_id,
                    )
                )  # fmt: skip
            report.rates.append(_rate(version_name, name, compared, flips, broke, fixed, skipped))
        if len(names) > 1:
            report.rates.append(_rate(version_name, ANY, len(any_flip), sum(any_flip.values()), 0, 0, 0))
    return report
