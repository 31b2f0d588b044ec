"""Several versions against one baseline: Holm's correction over the comparisons, so the family's error stays alpha.

Each comparison contributes the p-value of the test that decides it (McNemar on pass/fail, or the score test
where pass/fail could not tell), else McNemar's; a difference survives when its Holm-adjusted p is below alpha.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from andon.evals.model import Comparison
from andon.evals.multiple import holm_adjusted

__all__ = ["HolmRow", "holm_rows"]


@dataclass(frozen=True, slots=True)
class HolmRow:
    """One comparison of the family: its p, the Holm-adjusted p, and whether its difference survives."""

    version: str
    verdict: str  # the comparison's own verdict before correction
    p: float
    adjusted: float
    survives: bool


def _p(comparison: Comparison) -> float:
    return comparison.decided_p if comparison.decided_p is not None else comparison.mcnemar_p


def holm_rows(comparisons: Sequence[Comparison], alpha: float) -> list[HolmRow]:
    """The family's rows in the order given; only a comparison that found a difference can survive."""
    raw = [_p(c) for c in comparisons]
    adjusted = holm_adjusted(raw)
    return [
        HolmRow(c.b_name, c.verdict, p, adj, c.verdict != "no detectable difference" and adj < alpha)
        for c, p, adj in zip(comparisons, raw, adjusted, strict=True)
    ]
