"""Multiple comparisons: Holm's step-down correction, for a gate that tests several versions or slices at once."""

from __future__ import annotations

from collections.abc import Sequence

from andon.evals.stats import StatisticsError

__all__ = ["holm_adjusted", "holm_levels"]


def holm_levels(m: int, alpha: float = 0.05) -> list[float]:
    """The level each hypothesis is tested at, smallest p first: ``alpha / m, alpha / (m − 1), …, alpha``."""
    if m < 0:
        raise StatisticsError(f"the number of hypotheses must be >= 0, got {m}")
    return [alpha / (m - rank) for rank in range(m)]


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm (1979) adjusted p-values, in the order given: reject where the adjusted p is below alpha.

    Smallest p first, ``p_(i) · (m − i)``, made non-decreasing and capped at 1; it controls the family-wise
    error rate under any dependence between the tests.
    """
    for p in p_values:
        if not 0.0 <= p <= 1.0:
            raise StatisticsError(f"a p-value must be in [0, 1], got {p!r}")
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, p_values[i] * (m - rank)))
        adjusted[i] = running
    return adjusted
