"""The in-control average run length of a CUSUM on batched counts, and the limit that gives a target one.

Each point adds ``match * K + other * J`` to the statistic (floored at 0), where K matching and J other calls
arrive as independent Poisson counts (``calls`` per point on average, a share ``share`` of them matching).
The run length to the limit ``h`` is the absorption time of a Markov chain on [0, h), cut into ``cells``
cells (Brook and Evans, 1972): exact up to the rounding of each step to a cell, so unlike Siegmund's diffusion
approximation it holds for skewed, discrete and batched steps, which are what label counts per minute are.
Each solve runs on one BLAS thread (threads fighting over a loaded machine made it 1-3 s), and the watcher
judges points off its event loop, so a limit not cached yet delays only its own monitor.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

CELLS = 200
_SDS = 9.0  # a Poisson count beyond this many standard deviations carries no mass worth a cell
_MIN_LIMIT = 1e-3  # a limit this low: one point's own evidence is already rarer than the budget allows
_SOLVE_THREADS = 1  # a 200-cell solve is ~0.1 s on one core; BLAS threads on a loaded machine made it 1-3 s
_controller: ThreadpoolController | None = None
_controller_lock = threading.Lock()


def _blas() -> ThreadpoolController:
    """The BLAS libraries numpy loaded, found once (a scan per solve would cost more than the solve)."""
    global _controller
    with _controller_lock:
        if _controller is None:
            _controller = ThreadpoolController()
        return _controller


def _poisson(mean: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The counts a Poisson(``mean``) draw takes with any weight, and their probabilities."""
    if mean <= 0:
        return np.zeros(1, dtype=np.int64), np.ones(1)
    spread = _SDS * math.sqrt(mean) + 10
    low, high = max(0, math.floor(mean - spread)), math.ceil(mean + spread)
    counts = np.arange(low, high + 1, dtype=np.int64)
    first = math.lgamma(low + 1.0)
    logs = np.concatenate(([first], first + np.cumsum(np.log(counts[1:].astype(np.float64)))))
    weights = np.exp(-mean + counts * math.log(mean) - logs)
    return counts, weights / weights.sum()


def run_length(limit: float, match: float, other: float, calls: float, share: float, cells: int = CELLS) -> float:
    """Mean points until the CUSUM started at 0 reaches ``limit`` on in-control traffic."""
    width = limit / cells
    hits, p_hits = _poisson(calls * share)
    rest, p_rest = _poisson(calls * (1.0 - share))
    steps = np.rint((hits[:, None] * match + rest[None, :] * other) / width).astype(np.int64).ravel()
    weights = (p_hits[:, None] * p_rest[None, :]).ravel()
    # Only moves within one chain's width matter: below lands on 0 from anywhere, above is past the limit.
    steps = np.clip(steps, -cells, cells)
    pmf = np.bincount(steps + cells, weights=weights, minlength=2 * cells + 1)
    here = np.arange(cells)
    offset = here[None, :] - here[:, None] + cells  # index into pmf of the move from cell i to cell j
    moves = pmf[offset]
    below = np.cumsum(pmf)  # P(step <= s), s = index - cells
    moves[:, 0] = below[cells - here]  # everything at or below 0 is 0
    with _blas().limit(limits=_SOLVE_THREADS, user_api="blas"):
        lengths = np.linalg.solve(np.eye(cells) - moves, np.ones(cells))
    return float(lengths[0])


@lru_cache(maxsize=512)
def cusum_limit(run: float, match: float, other: float, calls: float, share: float) -> float:
    """The limit whose in-control average run length is ``run`` points (regula falsi on its logarithm)."""
    target = math.log(max(run, 1.0))

    def gap(limit: float) -> float:
        return math.log(run_length(limit, match, other, calls, share)) - target

    low, high = _MIN_LIMIT, max(1.0, target)
    g_low, g_high = gap(low), gap(high)
    if g_low >= 0:
        return low
    while g_high < 0:
        low, g_low, high = high, g_high, 2 * high
        g_high = gap(high)
    side = 0
    for _ in range(100):
        if high - low <= 1e-4:
            break  # the run length jumps where a step lands on the limit: take the end at or above the target
        # log run length is close to linear in the limit, so the secant lands near it at once
        mid = high - g_high * (high - low) / (g_high - g_low)
        g_mid = gap(mid)
        if abs(g_mid) < 1e-3:
            return mid
        if g_mid < 0:
            low, g_low = mid, g_mid
            if side == -1:
                g_high /= 2  # Illinois: keep the stale end from holding the secant back
            side = -1
        else:
            high, g_high = mid, g_mid
            if side == 1:
                g_low /= 2
            side = 1
    return high
