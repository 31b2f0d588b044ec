"""Synthetic metric streams for detector tests: deterministic (seeded) and 5-minute spaced."""

from __future__ import annotations

import math

import numpy as np

STEP_S = 300.0
DAY_POINTS = int(86400 / STEP_S)


def seasonal(points: int, *, amplitude: float = 10.0, noise: float = 1.0, seed: int = 1) -> list[float]:
    """A daily sine around 100 with Gaussian noise: seasonality and nothing else."""
    rng = np.random.default_rng(seed)
    return [
        100.0 + amplitude * math.sin(2 * math.pi * i / DAY_POINTS) + float(rng.normal(0.0, noise))
        for i in range(points)
    ]


def flat_noise(points: int, *, noise: float = 1.0, seed: int = 2) -> list[float]:
    """Gaussian noise around 100."""
    rng = np.random.default_rng(seed)
    return [100.0 + float(rng.normal(0.0, noise)) for _ in range(points)]


def stamps(points: int, start: int = 0) -> list[float]:
    """Epoch seconds of ``points`` rows from row ``start`` on."""
    return [STEP_S * (start + i) for i in range(points)]
