"""NAB scoring, written from its published definition: anomaly windows, the scaled sigmoid, the three
application profiles, one threshold per profile optimised over the whole corpus, and normalisation
100·(score − null)/(perfect − null).

Per file: the first 15 % of rows (at most 750) are probation and never scored. A row whose anomaly score is
at or above the threshold is a detection. Inside a window, only the window's best detection counts:
``tp · S(y) / S(−1)`` with ``S(y) = 2·sigmoid(−5y) − 1`` and ``y = −(right − i + 1) / width`` (−1 at the left
edge). A detection outside every window costs ``fp · S(y)`` with ``y`` the distance past the previous
window's right edge in (width − 1)s, ``S = −1`` with no previous window or 3 widths or more away. A window
without a detection costs ``−fn``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

PROFILES: dict[str, dict[str, float]] = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP_rate": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN_rate": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}
PROBATION_SHARE = 0.15
PROBATION_MAX = 750  # 15 % of 5000 rows

FloatArray = npt.NDArray[np.float64]


def scaled_sigmoid(y: float) -> float:
    """``2·sigmoid(−5y) − 1``, and exactly −1 from 3 window widths past a window on."""
    if y >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)


def probation_length(rows: int) -> int:
    """Rows at the start of a file that are never scored."""
    return int(min(math.floor(PROBATION_SHARE * rows), PROBATION_SHARE * 5000))


def window_rows(timestamps: Sequence[np.datetime64], windows: Iterable[tuple[str, str]]) -> list[tuple[int, int]]:
    """Each window as (first row, last row) inclusive: rows whose timestamps fall inside it."""
    stamps = np.asarray(timestamps, dtype="datetime64[s]")
    found = []
    for start, end in windows:
        left = int(np.searchsorted(stamps, np.datetime64(start.replace(" ", "T")[:19], "s"), side="left"))
        right = int(np.searchsorted(stamps, np.datetime64(end.replace(" ", "T")[:19], "s"), side="right")) - 1
        if left <= right:
            found.append((left, right))
    return found


@dataclass(frozen=True)
class FileLayout:
    """Per-row weights of one file for one profile: window id (−1 outside), the row's reward or cost."""

    window: npt.NDArray[np.int64]
    weight: FloatArray
    scored: npt.NDArray[np.bool_]
    windows: int  # windows with at least one scored row (each costs −fn when missed)


def layout(rows: int, windows: Sequence[tuple[int, int]], profile: dict[str, float]) -> FileLayout:
    """The weight of a detection at every row of a file, following NAB's sweep."""
    window = np.full(rows, -1, dtype=np.int64)
    weight = np.zeros(rows)
    prev_right: int | None = None
    prev_width = 0.0
    bounds = sorted(windows)
    w = 0
    for i in range(rows):
        while w < len(bounds) and bounds[w][1] < i:
            prev_right, prev_width = bounds[w][1], float(bounds[w][1] - bounds[w][0] + 1)
            w += 1
        if w < len(bounds) and bounds[w][0] <= i <= bounds[w][1]:
            left, right = bounds[w]
            width = float(right - left + 1)
            window[i] = w
            weight[i] = scaled_sigmoid(-(right - i + 1) / width) * profile["tp"] / MAX_TP
        else:
            past = 3.0 if prev_right is None else abs(prev_right - i) / max(1.0, prev_width - 1.0)
            weight[i] = scaled_sigmoid(past) * profile["fp"]
    scored = np.arange(rows) >= probation_length(rows)
    counted = len({int(x) for x in window[scored] if x >= 0})
    return FileLayout(window, weight, scored, counted)


def _events(scores: FloatArray, lay: FileLayout, fn: float) -> tuple[FloatArray, FloatArray]:
    """(score, change of the file's total) for every scored row, as the threshold falls past its score."""
    keep = lay.scored
    s, wid, wt = scores[keep], lay.window[keep], lay.weight[keep]
    outside = wid < 0
    ev_s, ev_d = [s[outside]], [wt[outside]]
    for w in np.unique(wid[~outside]):
        rows = np.flatnonzero(wid == w)
        order = rows[np.argsort(-s[rows], kind="stable")]
        best = np.maximum.accumulate(wt[order])
        gain = np.diff(np.concatenate(([-fn], best)))
        ev_s.append(s[order])
        ev_d.append(gain)
    return np.concatenate(ev_s), np.concatenate(ev_d)


@dataclass(frozen=True)
class Sweep:
    """Score of a set of files at every threshold: detections are rows with score ≥ ``thresholds[i]``."""

    thresholds: FloatArray  # descending; +inf first (no detections)
    totals: FloatArray
    null: float
    perfect: float

    def best(self) -> tuple[float, float]:
        """(threshold, raw score) that maximises the score."""
        i = int(np.argmax(self.totals))
        return float(self.thresholds[i]), float(self.totals[i])

    def at(self, threshold: float) -> float:
        """Raw score at ``threshold``."""
        i = int(np.searchsorted(-self.thresholds, -threshold, side="right")) - 1
        return float(self.totals[max(i, 0)])

    def normalised(self, raw: float) -> float | None:
        """100·(raw − null)/(perfect − null); None when the files hold no window."""
        if self.perfect == self.null:
            return None
        return 100.0 * (raw - self.null) / (self.perfect - self.null)


def sweep(files: Sequence[tuple[FloatArray, FileLayout]], profile: dict[str, float], all_windows: int) -> Sweep:
    """Sweep every threshold over ``files`` (scores, layout) at once; ``all_windows`` sets the perfect score."""
    base = -profile["fn"] * sum(lay.windows for _, lay in files)
    parts = [_events(np.asarray(scores, dtype=float), lay, profile["fn"]) for scores, lay in files]
    s = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0)
    d = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
    order = np.argsort(-s, kind="stable")
    s, d = s[order], d[order]
    total = base + np.cumsum(d)
    # the threshold s[i] detects every row up to the last one with the same score
    last = np.flatnonzero(np.append(s[1:] != s[:-1], True)) if s.size else np.zeros(0, dtype=np.int64)
    thresholds = np.concatenate(([np.inf], s[last]))
    totals = np.concatenate(([base], total[last]))
    null = max(base, float(totals[-1])) if s.size else base  # NAB's null detector: one constant score
    return Sweep(thresholds, totals, null, all_windows * profile["tp"])
