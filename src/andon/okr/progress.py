"""Progress of key results, roll-ups of objectives and teams, and pace-based health.

Progress is the current value's place on the line from ``start`` to ``target``, clamped to [0, 1], for
rising and falling key results alike. A ``range`` key result ("stay within low..high") scores 1 inside the
band and falls linearly to 0 at the distance of ``start`` from the band (or the band's width when ``start``
lies inside it), on either side.

Health compares progress with the share of the period that has passed (the pace a straight line would keep):

* **on track** — progress is at most ``ON_TRACK_GAP`` (0.10) behind the elapsed share, or the target is met;
* **at risk** — progress is behind by more than that but at most ``AT_RISK_GAP`` (0.25);
* **off track** — progress is behind by more than ``AT_RISK_GAP``.

So a key result at 40 % when half the quarter is gone is on track, at 30 % at risk, and at 20 % off track.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

from andon.store.okr import KeyResult

Health = Literal["on_track", "at_risk", "off_track"]
HEALTHS: tuple[Health, ...] = ("on_track", "at_risk", "off_track")
ON_TRACK_GAP = 0.10
AT_RISK_GAP = 0.25


def _clamp(x: float) -> float:
    return min(1.0, max(0.0, x))


def progress(kr: KeyResult, value: float) -> float:
    """Where ``value`` stands between the key result's start (0) and target (1), clamped to [0, 1]."""
    if not math.isfinite(value):
        raise ValueError(f"value {value!r} is not a finite number")
    if kr.direction == "range":
        low, high = _band(kr)
        if low <= value <= high:
            return 1.0
        gap = low - kr.start if kr.start < low else kr.start - high if kr.start > high else high - low
        outside = low - value if value < low else value - high
        return _clamp(1.0 - outside / gap) if gap > 0 else 0.0
    span = kr.target - kr.start
    if span == 0:
        return 1.0 if value == kr.target else 0.0
    # Rounded subtraction and division are monotone, and span / span is exactly 1: start gives 0, target 1.
    ratio = (value - kr.start) / span
    if not math.isfinite(ratio):  # a difference overflowed: the halves cannot
        ratio = (value / 2 - kr.start / 2) / (kr.target / 2 - kr.start / 2)
    return _clamp(ratio)


def _band(kr: KeyResult) -> tuple[float, float]:
    low = kr.low if kr.low is not None else kr.target
    high = kr.high if kr.high is not None else kr.target
    return (low, high) if low <= high else (high, low)


def objective_progress(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    """The weighted mean of (progress, weight) pairs; a key result without a value counts as 0; None if empty."""
    total = weights = 0.0
    for value, weight in pairs:
        if weight < 0 or not math.isfinite(weight):
            raise ValueError(f"weight {weight!r} must be a finite number >= 0")
        total += (value or 0.0) * weight
        weights += weight
    return _clamp(total / weights) if weights > 0 else None


def rollup(values: Iterable[float | None]) -> float | None:
    """A team's progress: the plain mean of its objectives' progress (those with any), or None."""
    known = [v for v in values if v is not None]
    return _clamp(sum(known) / len(known)) if known else None


def health(progress: float, elapsed: float) -> Health:
    """on_track / at_risk / off_track: how far ``progress`` lags the ``elapsed`` share of the period (module doc)."""
    if progress >= 1.0:
        return "on_track"
    behind = _clamp(elapsed) - _clamp(progress)
    if behind <= ON_TRACK_GAP:
        return "on_track"
    if behind <= AT_RISK_GAP:
        return "at_risk"
    return "off_track"
