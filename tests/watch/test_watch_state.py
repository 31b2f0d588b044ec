"""Saved state: JSON only, restore∘save is the identity on future verdicts, and no second alert after a restart."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.watch.streams import flat_noise, stamps

from andon.watch import Detector, DetectorStateError, Proportion, Verdict, build_detector

SETTINGS: dict[str, dict[str, Any]] = {
    "threshold": {"type": "threshold", "warn_above": 103.0, "fail_above": 106.0},
    "robust-z": {"type": "robust-z", "warmup": 40, "baseline": {"season": 3600.0, "season_bins": 6}},
    "ewma": {"type": "ewma", "warmup": 40, "baseline": {"season": None}},
    "cusum": {"type": "cusum", "warmup": 40, "baseline": {"season": None}},
    "band": {"type": "band", "warmup": 40, "baseline": {"season": None}},
    "adwin": {"type": "adwin", "warmup": 40, "baseline": {"season": None}},
    "page-hinkley": {"type": "page-hinkley", "warmup": 40, "baseline": {"season": None}},
    # a small replay bound, so the saved window is rebuilt from several times in these streams
    "kswin": {"type": "kswin", "warmup": 40, "replay": 60, "window_size": 50, "stat_size": 20},
}
SETTINGS["kswin"]["baseline"] = {"season": None}
SETTINGS["ensemble"] = {
    "type": "ensemble",
    "warmup": 40,
    "seasons": [None, 3600.0],
    "statistics": ["spike", "level", "shift", "variance", "coarse"],
    "coarse": 3,
    "min_history": 20,
}


def feed(detector: Detector, values: list[float | None], start: int = 0) -> list[Verdict]:
    return [detector.update(ts, x) for ts, x in zip(stamps(len(values), start), values, strict=True)]


def saved(detector: Detector) -> dict[str, Any]:
    """The state as it comes back from a store: through JSON text."""
    return json.loads(json.dumps(detector.state(), allow_nan=False))


def stream(length: int, seed: int, shift_at: int | None = None) -> list[float | None]:
    values: list[float | None] = list(flat_noise(length, seed=seed))
    if shift_at is not None:
        values[shift_at:] = [None if v is None else v + 10.0 for v in values[shift_at:]]
    return values


def same(a: list[Verdict], b: list[Verdict]) -> bool:
    return all(
        x.state == y.state and x.reason == y.reason and x.fired == y.fired and x.score == pytest.approx(y.score)
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("kind", sorted(SETTINGS))
def test_restore_goes_on_exactly_like_an_uninterrupted_run(kind: str) -> None:
    before, after = stream(300, seed=3), stream(300, seed=4, shift_at=150)
    live = build_detector(SETTINGS[kind])
    feed(live, before)
    restarted = build_detector(SETTINGS[kind])
    restarted.restore(saved(live))
    expected = feed(live, after, start=300)
    got = feed(restarted, after, start=300)
    assert same(got, expected)
    assert any(v.state == "fail" for v in expected)  # the comparison covered an alert, not just calm


@pytest.mark.parametrize("kind", sorted(SETTINGS))
def test_a_breach_reported_before_a_restart_is_not_fired_again(kind: str) -> None:
    values = stream(400, seed=5, shift_at=200)
    live = build_detector(SETTINGS[kind])
    verdicts = feed(live, values)
    first = next(i for i, v in enumerate(verdicts) if v.fired)
    # restart right after the alert, while the breach may still be going on
    cut = first + 1
    replay = build_detector(SETTINGS[kind])
    feed(replay, values[:cut])
    restarted = build_detector(SETTINGS[kind])
    restarted.restore(saved(replay))
    resumed = feed(restarted, values[cut:], start=cut)
    if resumed[0].state == verdicts[first].state:
        assert not resumed[0].fired
    assert same(resumed, verdicts[cut:])  # fires again only where the live run did too


def test_restore_does_not_warm_up_again() -> None:
    live = build_detector(SETTINGS["robust-z"])
    feed(live, stream(100, seed=6))
    restarted = build_detector(SETTINGS["robust-z"])
    restarted.restore(saved(live))
    assert "warming" not in restarted.update(1e6, 100.0).reason


def test_proportion_state_round_trips() -> None:
    live = build_detector({"type": "proportion"})
    for i in range(10):
        live.update(i, Proportion(48, 400))
    restarted = build_detector({"type": "proportion"})
    restarted.restore(saved(live))
    for i, (k, n) in enumerate([(50, 400), (120, 400), (3, 8), (0, 0)]):
        assert restarted.update(10 + i, Proportion(k, n)) == live.update(10 + i, Proportion(k, n))


def test_restoring_another_type_or_damaged_state_is_refused() -> None:
    state = saved(build_detector(SETTINGS["cusum"]))
    with pytest.raises(DetectorStateError):
        build_detector(SETTINGS["ewma"]).restore(state)
    with pytest.raises(DetectorStateError):
        build_detector(SETTINGS["cusum"]).restore({**state, "version": 99})
    with pytest.raises(DetectorStateError):
        build_detector(SETTINGS["cusum"]).restore({**state, "core": {"res": {}}})


# Values spanning calm data, huge outliers, zeros and gaps; deterministic settings, no timing.
values_strategy = st.lists(
    st.one_of(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), st.none(), st.just(0.0)),
    min_size=1,
    max_size=120,
)


@pytest.mark.parametrize("kind", sorted(SETTINGS))
@settings(max_examples=25)
@given(values=values_strategy)
def test_score_is_always_in_the_unit_interval(kind: str, values: list[float | None]) -> None:
    detector = build_detector({**SETTINGS[kind], "warmup": 5})
    for verdict in feed(detector, values):
        assert 0.0 <= verdict.score <= 1.0
        assert verdict.state in ("ok", "warn", "fail", "no_data")


@pytest.mark.parametrize("kind", sorted(SETTINGS))
@settings(max_examples=15)
@given(values=values_strategy, cut=st.integers(min_value=0, max_value=120), seed=st.integers(0, 3))
def test_restore_after_save_is_identity_on_future_verdicts(
    kind: str, values: list[float | None], cut: int, seed: int
) -> None:
    head = stream(60, seed=seed) + values[: cut % (len(values) + 1)]
    tail = values[cut % (len(values) + 1) :] + stream(40, seed=seed + 10)
    live = build_detector({**SETTINGS[kind], "warmup": 5})
    feed(live, head)
    restarted = build_detector({**SETTINGS[kind], "warmup": 5})
    restarted.restore(saved(live))
    assert same(feed(restarted, tail, start=len(head)), feed(live, tail, start=len(head)))
