"""Simulated experiments for the sequential test: many A/B runs at once, looked at after every unit (numpy).

Each unit is assigned to an arm by a fair coin and converts (or draws a normal value) by its arm's truth.
``simulate`` says, per experiment, at which unit the mSPRT first decided (or -1) and on which side, and does
the same for the classic fixed-horizon z-test peeked at after every unit and for that test looked at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from andon.evals.sequential import DEFAULT_EFFECT, log_mixture_ratio, mean_terms, proportion_terms

__all__ = ["Simulation", "fixed_horizon_n", "simulate"]

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Simulation:
    """Per experiment: the unit at which each test first rejected (-1: never) and the sign of the estimate then."""

    msprt_at: Ints
    msprt_sign: Ints
    peeking_at: Ints  # the z-test at 1 - alpha/2, peeked at after every unit
    fixed_reject: npt.NDArray[np.bool_]  # the z-test looked at once, at the last unit
    units: int


def _first(mask: npt.NDArray[np.bool_]) -> Ints:
    hit = mask.any(axis=1)
    return np.where(hit, mask.argmax(axis=1), -1).astype(np.int64)


def simulate(
    experiments: int,
    units: int,
    *,
    kind: Literal["proportion", "mean"] = "proportion",
    control: float = 0.1,
    treatment: float = 0.1,
    sd: float = 1.0,
    alpha: float = 0.05,
    effect: float = DEFAULT_EFFECT,
    min_samples: int = 100,
    seed: int = 0,
    chunk: int = 250,
) -> Simulation:
    """Run ``experiments`` experiments of ``units`` units each, peeking after every unit."""
    rng = np.random.default_rng(seed)
    z_crit = _z(1 - alpha / 2)
    threshold = math.log(1 / alpha)
    at, sign, peek, fixed = [], [], [], []
    for start in range(0, experiments, chunk):
        rows = min(chunk, experiments - start)
        treated = rng.random((rows, units)) < 0.5
        if kind == "proportion":
            y = np.where(treated, rng.random((rows, units)) < treatment, rng.random((rows, units)) < control)
            y = y.astype(np.float64)
        else:
            y = rng.normal(0.0, sd, (rows, units)) + np.where(treated, treatment, control)
        n_b = np.cumsum(treated, axis=1, dtype=np.int64)
        n_a = np.arange(1, units + 1, dtype=np.int64)[None, :] - n_b
        s_b = np.cumsum(np.where(treated, y, 0.0), axis=1)
        s_a = np.cumsum(np.where(treated, 0.0, y), axis=1)
        if kind == "proportion":
            delta, var, tau2 = proportion_terms(s_a, n_a, s_b, n_b, effect)
        else:
            ss_b = np.cumsum(np.where(treated, y * y, 0.0), axis=1)
            ss_a = np.cumsum(np.where(treated, 0.0, y * y), axis=1)
            delta, var, tau2 = mean_terms((n_a, s_a, ss_a), (n_b, s_b, ss_b), effect)
        ready = (n_a >= min_samples) & (n_b >= min_samples)
        decided = ready & (log_mixture_ratio(delta, var, tau2) >= threshold)
        first = _first(decided)
        at.append(first)
        sign.append(np.where(first >= 0, np.sign(delta[np.arange(rows), np.maximum(first, 0)]), 0).astype(np.int64))
        z = np.abs(delta) / np.sqrt(np.maximum(var, 1e-300))
        peek.append(_first(ready & (z >= z_crit)))
        fixed.append(z[:, -1] >= z_crit)
    return Simulation(np.concatenate(at), np.concatenate(sign), np.concatenate(peek), np.concatenate(fixed), units)


def fixed_horizon_n(control: float, treatment: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Units (both arms together, split evenly) a fixed-horizon two-proportion z-test needs for ``power``."""
    spread = control * (1 - control) + treatment * (1 - treatment)
    per_arm = (_z(1 - alpha / 2) + _z(power)) ** 2 * spread / (treatment - control) ** 2
    return 2 * math.ceil(per_arm)


def _z(q: float) -> float:
    """The standard normal quantile (statistics.NormalDist, without importing it at every call)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(q)
