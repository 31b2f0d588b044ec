"""Sticky traffic splits: which version one unit (a user, session or tenant) is served, by a hash alone.

A unit's bucket in ``[0, BUCKETS)`` is a hash of (feature, split id, unit key), so it never changes while
the split lives, and every gateway replica agrees without asking anyone. The arms take the buckets in order:
the first ``w₁`` buckets go to arm 1, the next ``w₂`` to arm 2, and so on. Raising an earlier arm's weight
(a canary listed first) therefore only moves units from the last arm to it, never back.

    >>> split = Split("menu", "ro_1", (Arm("canary", 500), Arm("stable", 9500)), "user")
    >>> choose(split, "user-42").version_id in ("canary", "stable")
    True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from andon.errors import ConfigError
from andon.messages import t

__all__ = ["BUCKETS", "Arm", "Split", "Sticky", "bucket", "choose", "unit_key"]

BUCKETS = 10_000  # a weight is in basis points: 500 is 5 %
Sticky = Literal["user", "session", "tenant", "call"]


@dataclass(frozen=True, slots=True)
class Arm:
    """One version of a split and its weight in buckets (basis points of the traffic)."""

    version_id: str
    weight: int
    label: str = ""  # what the trace calls it: canary, stable, A, B …


@dataclass(frozen=True, slots=True)
class Split:
    """A feature's traffic divided among versions: arms whose weights add up to ``BUCKETS``."""

    feature: str
    split_id: str  # a rollout's (or an experiment's) id: a new split reshuffles the units
    arms: tuple[Arm, ...]
    sticky: Sticky

    def __post_init__(self) -> None:
        if not self.arms or any(a.weight < 0 for a in self.arms) or sum(a.weight for a in self.arms) != BUCKETS:
            weights = ", ".join(str(a.weight) for a in self.arms)
            raise ConfigError(t("rollout.split.weights", weights=weights, total=BUCKETS), where=self.split_id)


def bucket(feature: str, split_id: str, unit: str) -> int:
    """The unit's bucket in ``[0, BUCKETS)``: the first 8 bytes of a sha256, so every process agrees."""
    digest = hashlib.sha256("\x1f".join((feature, split_id, unit)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def choose(split: Split, unit: str) -> Arm:
    """The arm serving ``unit``: the one whose range of buckets holds the unit's bucket."""
    at = bucket(split.feature, split.split_id, unit)
    upper = 0
    for arm in split.arms:
        upper += arm.weight
        if at < upper:
            return arm
    return split.arms[-1]  # unreachable while the weights add up to BUCKETS


def unit_key(
    sticky: Sticky, *, user_id: str | None, session_id: str | None, tenant: str | None, call_id: str
) -> str | None:
    """The key a caller sticks by: its user, session or tenant id (None when it sent none), or the call's own id."""
    if sticky == "call":
        return call_id
    value = {"user": user_id, "session": session_id, "tenant": tenant}[sticky]
    return value if value else None
