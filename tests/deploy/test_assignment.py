"""Sticky traffic splits: stable per unit, matching the weights, and a raised canary weight only moves units to it."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.deploy.assignment import BUCKETS, Arm, Split, bucket, choose, unit_key
from andon.errors import ConfigError

USERS = [f"user-{i}" for i in range(100_000)]


def split(canary_bp: int, split_id: str = "ro_test") -> Split:
    return Split("menu", split_id, (Arm("v2", canary_bp, "canary"), Arm("v1", BUCKETS - canary_bp, "stable")), "user")


@pytest.mark.parametrize("canary_bp", [500, 2500, 5000])
def test_the_split_matches_its_weight_within_the_binomial_interval(canary_bp: int) -> None:
    chosen = split(canary_bp)
    canary = sum(1 for user in USERS if choose(chosen, user).label == "canary")
    p, n = canary_bp / BUCKETS, len(USERS)
    margin = 3.89 * math.sqrt(p * (1 - p) / n)  # a 99.99 % normal interval of the share
    assert abs(canary / n - p) <= margin


def test_a_unit_keeps_its_version_and_raising_the_weight_only_moves_units_to_the_canary() -> None:
    sample = USERS[:20_000]
    before = {user: choose(split(500), user).label for user in sample}
    assert before == {user: choose(split(500), user).label for user in sample}  # sticky: asked again, same answer
    after = {user: choose(split(2500), user).label for user in sample}
    assert all(after[u] == "canary" for u in sample if before[u] == "canary")  # nobody goes back to stable
    moved = sum(1 for u in sample if before[u] == "stable" and after[u] == "canary")
    assert moved > 0


def test_another_split_reshuffles_the_units() -> None:
    first = [choose(split(5000, "ro_a"), u).label for u in USERS[:2000]]
    second = [choose(split(5000, "ro_b"), u).label for u in USERS[:2000]]
    assert first != second


@given(st.text(min_size=1, max_size=40), st.text(max_size=20))
def test_a_bucket_is_in_range_and_the_same_every_time(unit: str, split_id: str) -> None:
    found = bucket("menu", split_id, unit)
    assert 0 <= found < BUCKETS and found == bucket("menu", split_id, unit)


def test_weights_must_add_up_to_every_bucket() -> None:
    with pytest.raises(ConfigError):
        Split("menu", "ro_x", (Arm("v2", 500), Arm("v1", 500)), "user")


def test_the_unit_key_follows_the_sticky_setting() -> None:
    ids = {"user_id": "u1", "session_id": "s1", "tenant": None, "call_id": "trc_1"}
    assert unit_key("user", **ids) == "u1"
    assert unit_key("session", **ids) == "s1"
    assert unit_key("tenant", **ids) is None  # no tenant sent: the caller gets the default (stable) arm
    assert unit_key("call", **ids) == "trc_1"
