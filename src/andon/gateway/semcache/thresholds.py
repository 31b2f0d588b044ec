"""Per-entry thresholds learned online, after vCache (ICLR 2026): each cached entry keeps its own cosine.

An entry starts where a prior fitted on labelled pairs keeps the error rate of hits at or under
``max_error``. Every observed hit of it (a judge's verdict, a guard's veto, feedback) then moves its own
threshold to the lowest cosine at which its estimated error rate, its observations added to the prior as
pseudo-counts, is still at or under ``max_error``: a wrong hit never lowers it, a right one never raises it.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from math import sqrt

import numpy as np
from numpy.typing import ArrayLike, NDArray

from andon.messages import t

GRID: tuple[float, ...] = tuple(round(0.50 + 0.01 * i, 2) for i in range(51))  # 0.50 … 1.00
NEVER = 1.01  # above any cosine: an entry whose every threshold breaks the bound is never served by meaning
PRIOR_WEIGHT = 20.0  # the prior counts as this many hits of the entry: own observations outweigh it soon
Z_UPPER = 1.645  # one-sided 95 %: the prior is the Wilson upper bound of the error rate, not its estimate

# The error-rate upper bounds of hits at or above each GRID cosine (guard on, use-multilingual-v3), fitted on
# KorSTS *train* by `python -m bench.semantic_cache --part learned` (bench/README.md): the default prior. It
# starts an entry at 0.82 for max_error 0.05 and at 0.93 for 0.02.
# fmt: off
KORSTS_TRAIN: tuple[float, ...] = (
    0.302, 0.2916, 0.276, 0.2658, 0.2598, 0.2502, 0.2405, 0.2307, 0.2247, 0.2116,
    0.2057, 0.1974, 0.1862, 0.1796, 0.1714, 0.1662, 0.1566, 0.1511, 0.137, 0.1329,
    0.1244, 0.1124, 0.1059, 0.0944, 0.0815, 0.0808, 0.081, 0.0747, 0.0671, 0.0607,
    0.0554, 0.0523, 0.0435, 0.0426, 0.0356, 0.0386, 0.0355, 0.0313, 0.0345, 0.0296,
    0.0336, 0.0265, 0.0236, 0.0162, 0.0201, 0.0232, 0.0286, 0.0367, 0.0486, 0.0665,
    0.078,
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Prior:
    """An upper bound of the error rate of hits at or above each :data:`GRID` cosine."""

    errors: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.errors) != len(GRID) or not all(0.0 <= e <= 1.0 for e in self.errors):
            raise ValueError(t("cache13.prior_shape", n=len(GRID)))

    @classmethod
    def fit(cls, similarities: ArrayLike, wrong: ArrayLike, *, z: float = Z_UPPER) -> Prior:
        """From labelled hits (cosine, whether serving it was wrong): the Wilson upper bound above each cosine.

        A cosine with no labelled hit at or above it gets 1.0: nothing is known there, so nothing is served.
        """
        sims = np.asarray(similarities, dtype=np.float64).reshape(-1)
        bad = np.asarray(wrong, dtype=bool).reshape(-1)
        errors = []
        for threshold in GRID:
            above = sims >= threshold - 1e-9
            n = int(above.sum())
            errors.append(_wilson_upper(int(bad[above].sum()), n, z) if n else 1.0)
        return cls(tuple(errors))

    @classmethod
    def flat(cls, error: float) -> Prior:
        """The same error rate at every cosine (tests, and a start with no labelled pairs)."""
        return cls(tuple(float(error) for _ in GRID))

    def start(self, max_error: float) -> float:
        """The lowest grid cosine whose error bound is at most ``max_error`` (:data:`NEVER` when none is)."""
        return next((t for t, e in zip(GRID, self.errors, strict=True) if e <= max_error), NEVER)


def default_prior() -> Prior:
    """The prior fitted on KorSTS train for the shipped embedder (flat 1.0, i.e. never, if none is recorded)."""
    return Prior(KORSTS_TRAIN) if KORSTS_TRAIN else Prior.flat(1.0)


class LearnedThresholds:
    """The thresholds of one feature's entries, each moved by the hits observed for it; safe across threads.

    Observations are kept as counts per grid cell (two small arrays an entry, only for entries observed), so
    memory stays bounded and the update is exact: no observation is ever dropped.
    """

    def __init__(self, prior: Prior, max_error: float, *, weight: float = PRIOR_WEIGHT, lowest: float = 0.0) -> None:
        """``lowest``: no entry's threshold goes below it (a feature's own ``threshold``, when it sets one)."""
        if not 0.0 < max_error < 1.0:
            raise ValueError(t("cache13.max_error", value=max_error))
        self.max_error = max_error
        self.weight = weight
        self.lowest = lowest
        self._pseudo_errors = weight * np.asarray(prior.errors, dtype=np.float64)
        self.start = max(prior.start(max_error), lowest)
        self.floor = self.start  # at most every entry's threshold: what the index is searched down to
        self._right: dict[int, NDArray[np.int32]] = {}
        self._wrong: dict[int, NDArray[np.int32]] = {}
        self._thresholds: dict[int, float] = {}
        self._lock = threading.Lock()

    def threshold(self, entry_id: int) -> float:
        """The cosine a lookup must reach to be served this entry."""
        return self._thresholds.get(entry_id, self.start)

    def observe(self, entry_id: int, similarity: float, correct: bool) -> float:
        """Record one hit of ``entry_id`` at ``similarity`` (right or wrong); its new threshold.

        A cosine below the grid says nothing of any threshold on it, and is not recorded.
        """
        if similarity < GRID[0]:
            return self.threshold(entry_id)
        cell = _cell(similarity)
        with self._lock:
            right = self._right.setdefault(entry_id, np.zeros(len(GRID), dtype=np.int32))
            wrong = self._wrong.setdefault(entry_id, np.zeros(len(GRID), dtype=np.int32))
            (right if correct else wrong)[cell] += 1
            threshold = max(self._solve(right, wrong), self.lowest)
            self._thresholds[entry_id] = threshold
            self.floor = min(self.floor, threshold)
            return threshold

    def estimate(self, entry_id: int) -> NDArray[np.float64]:
        """The entry's estimated error rate of hits at or above each grid cosine (prior and observations)."""
        with self._lock:
            right, wrong = self._right.get(entry_id), self._wrong.get(entry_id)
            if right is None or wrong is None:
                return self._pseudo_errors / self.weight
            return self._estimate(right, wrong)

    def forget(self, entry_ids: Collection[int]) -> None:
        """Drop what was learned of entries deleted from the store."""
        with self._lock:
            for entry_id in entry_ids:
                self._right.pop(entry_id, None)
                self._wrong.pop(entry_id, None)
                self._thresholds.pop(entry_id, None)

    def __len__(self) -> int:
        return len(self._thresholds)

    def _estimate(self, right: NDArray[np.int32], wrong: NDArray[np.int32]) -> NDArray[np.float64]:
        # Counts at or above each cosine: suffix sums over the cells.
        n_wrong = np.cumsum(wrong[::-1])[::-1].astype(np.float64)
        n_all = n_wrong + np.cumsum(right[::-1])[::-1]
        estimate: NDArray[np.float64] = (n_wrong + self._pseudo_errors) / (n_all + self.weight)
        return estimate

    def _solve(self, right: NDArray[np.int32], wrong: NDArray[np.int32]) -> float:
        ok = np.flatnonzero(self._estimate(right, wrong) <= self.max_error + 1e-12)
        return GRID[int(ok[0])] if ok.size else NEVER


def _cell(similarity: float) -> int:
    # The grid cell a cosine falls in: the highest grid value at or below it.
    at = int(np.searchsorted(np.asarray(GRID), similarity + 1e-9, side="right")) - 1
    return min(max(at, 0), len(GRID) - 1)


def _wilson_upper(errors: int, n: int, z: float) -> float:
    p = errors / n
    centre = p + z * z / (2 * n)
    spread = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z * z / n))
