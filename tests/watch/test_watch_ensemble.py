"""The ensemble detector: calm and seasonal streams stay quiet, steps, spikes and noise changes fire once,
its saved state is bounded JSON and a restart goes on exactly like an uninterrupted run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.watch.streams import DAY_POINTS, flat_noise, seasonal, stamps

from andon.errors import ConfigError
from andon.watch import Detector, Verdict, build_detector, known_types

NO_SEASON: dict[str, Any] = {"type": "ensemble", "seasons": [None]}


def run(detector: Detector, values: list[float | None], start: int = 0) -> list[Verdict]:
    return [detector.update(ts, x) for ts, x in zip(stamps(len(values), start), values, strict=True)]


def fails(verdicts: list[Verdict]) -> list[int]:
    return [i for i, v in enumerate(verdicts) if v.state == "fail"]


def test_it_is_registered() -> None:
    assert "ensemble" in known_types()


def test_noise_alone_never_fails() -> None:
    assert fails(run(build_detector(NO_SEASON), list(flat_noise(3000, seed=7)))) == []


def test_daily_seasonality_alone_never_fails_once_two_days_are_seen() -> None:
    detector = build_detector({"type": "ensemble", "warmup": 3 * DAY_POINTS})
    assert fails(run(detector, list(seasonal(6 * DAY_POINTS))))[:1] == []


def test_a_step_fails_soon_after_it() -> None:
    values = list(flat_noise(800))
    values[500:] = [x + 8.0 for x in values[500:]]
    verdicts = run(build_detector(NO_SEASON), values)
    assert fails(verdicts) and 500 <= fails(verdicts)[0] <= 510
    assert not any(v.fired for v in verdicts[:500])


def test_a_small_shift_fails_with_the_shift_statistic() -> None:
    values = list(flat_noise(900))
    values[600:] = [x + 3.0 for x in values[600:]]  # 3 σ: no single point stands out much
    verdicts = run(build_detector({**NO_SEASON, "statistics": ["shift"]}), values)
    first = fails(verdicts)
    assert first and 600 <= first[0] <= 630


def test_a_single_spike_fails_at_the_spike() -> None:
    values = list(flat_noise(600))
    values[450] += 15.0
    verdicts = run(build_detector(NO_SEASON), values)
    assert fails(verdicts)[:1] == [450]
    assert verdicts[450].score > 0.5


def test_noise_growing_fails_with_the_variance_statistic() -> None:
    values = list(flat_noise(800))
    values[500:] = [100.0 + 8.0 * (x - 100.0) for x in values[500:]]
    detector = build_detector({**NO_SEASON, "statistics": ["variance"]})
    first = fails(run(detector, values))
    assert first and 500 <= first[0] <= 530


def test_a_breach_is_scored_once_not_on_every_point_after_it() -> None:
    values = list(flat_noise(800))
    values[500:] = [x + 8.0 for x in values[500:]]
    verdicts = run(build_detector(NO_SEASON), values)
    scored = [i for i, v in enumerate(verdicts) if v.score > 0.5]
    assert scored and len(scored) < 10  # later points of the same breach add no new score


def test_nothing_fires_during_warm_up() -> None:
    values = list(flat_noise(300))
    values[150] += 50.0
    verdicts = run(build_detector({**NO_SEASON, "warmup": 200}), values)
    assert all(v.state == "ok" and v.score == 0.0 for v in verdicts[:200])


def test_missing_values_are_no_data() -> None:
    detector = build_detector(NO_SEASON)
    run(detector, list(flat_noise(200)))
    assert detector.update(1e9, None).state == "no_data"
    assert detector.update(1e9, float("nan")).state == "no_data"


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"quantile": 1.5}, "quantile"),
        ({"statistics": ["median"]}, "statistics"),
        ({"warn_ratio": 3.0, "fail_ratio": 2.0}, "detector"),
        ({"seasons": []}, "seasons"),
    ],
)
def test_bad_settings_name_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_detector({"type": "ensemble", **settings})
    assert field in str(err.value.where)


def saved(detector: Detector) -> dict[str, Any]:
    return json.loads(json.dumps(detector.state(), allow_nan=False))


def test_restore_goes_on_exactly_like_an_uninterrupted_run() -> None:
    settings = {"type": "ensemble", "seasons": [None, 3600.0], "statistics": ["spike", "level", "shift", "variance"]}
    before = list(flat_noise(400, seed=3))
    after = [x + (9.0 if i > 150 else 0.0) for i, x in enumerate(flat_noise(300, seed=4))]
    live = build_detector(settings)
    run(live, before)
    restarted = build_detector(settings)
    restarted.restore(saved(live))
    expected, got = run(live, after, start=400), run(restarted, after, start=400)
    assert [(v.state, v.score, v.reason, v.fired) for v in got] == [
        (v.state, v.score, v.reason, v.fired) for v in expected
    ]
    assert any(v.fired for v in expected)


def test_saved_state_is_bounded_by_the_settings() -> None:
    settings = {"type": "ensemble", "seasons": [None], "history": 50, "min_history": 20, "cooldown": 10, "coarse": 2}
    detector = build_detector(settings)
    run(detector, list(flat_noise(600)))  # 600: the coarse memory (2 · (48 + 200) values) is full
    size = len(json.dumps(detector.state()))
    run(detector, list(flat_noise(3000, seed=9)), start=600)
    assert len(json.dumps(detector.state())) <= size * 1.1


def test_state_of_another_shape_is_refused() -> None:
    from andon.watch import DetectorStateError

    state = saved(build_detector({"type": "ensemble"}))
    with pytest.raises(DetectorStateError):
        build_detector(NO_SEASON).restore(state)


def test_the_default_spike_and_shift_still_catch_a_short_burst() -> None:
    values = list(flat_noise(800))
    values[500:520] = [x + 4.0 for x in values[500:520]]  # 20 points at +4 σ: the burst `level` was for
    verdicts = run(build_detector(NO_SEASON), values)
    first = fails(verdicts)
    assert first and 500 <= first[0] < 520
    assert not any(v.fired for v in verdicts[:500])


def ramp(start: int, steps: list[float], points: int = 800) -> list[float]:
    values = list(flat_noise(points))
    for i, extra in enumerate(steps):
        values[start + i] += extra
    return values


def scored(verdicts: list[Verdict], lo: int, hi: int) -> list[int]:
    return [i for i in range(lo, hi) if verdicts[i].score > 0.0]


def test_a_breach_building_up_point_by_point_is_scored_once() -> None:
    values = ramp(500, [10.0, 11.0, 12.0, 13.0, 14.0, 15.0])  # each point louder, none twice the first
    held = run(build_detector(NO_SEASON), values)
    unheld = run(build_detector({**NO_SEASON, "hold": 0}), values)
    assert scored(held, 500, 530) == [500]
    assert len(scored(unheld, 500, 530)) > 1  # without the hold every louder point scores again
    assert held[503].state == "fail"  # the hold changes the score, not the state


def test_a_much_larger_breach_during_the_hold_still_scores() -> None:
    values = ramp(500, [10.0] + [0.0] * 9 + [60.0])
    verdicts = run(build_detector(NO_SEASON), values)
    assert scored(verdicts, 500, 520) == [500, 510]
    assert verdicts[510].score > 0.5


def test_a_restart_during_the_hold_keeps_it() -> None:
    values = ramp(500, [10.0, 11.0, 12.0, 13.0])
    live = build_detector(NO_SEASON)
    run(live, values[:501])
    restarted = build_detector(NO_SEASON)
    restarted.restore(saved(live))
    assert scored(run(restarted, values[501:], start=501), 0, 29) == []


def test_a_state_saved_before_the_hold_existed_still_loads() -> None:
    live = build_detector(NO_SEASON)
    run(live, list(flat_noise(300)))
    state = saved(live)
    for key in ("since", "reported"):
        del state["core"][key]
    restarted = build_detector(NO_SEASON)
    restarted.restore(state)
    assert restarted.update(1e9, 100.0).state != "no_data"


def shifted(by: float, at: int = 2000, points: int = 3000) -> list[float]:
    values = list(flat_noise(points, seed=5))
    values[at:] = [x + by for x in values[at:]]
    return values


def test_a_one_sigma_shift_fails_only_with_the_coarse_statistic() -> None:
    values = shifted(1.0)  # 1 σ: the 48-point median absorbs it before single points or 30 residuals show it
    without = run(build_detector({**NO_SEASON, "statistics": ["spike", "shift"]}), values)
    verdicts = run(build_detector(NO_SEASON), values)
    first = fails(verdicts)
    assert fails(without) == []
    assert first and 2000 <= first[0] <= 2030
    assert not any(v.fired for v in verdicts[:2000])
    assert "30" in verdicts[first[0]].reason


def test_the_coarse_statistic_alone_stays_quiet_on_noise() -> None:
    assert fails(run(build_detector({**NO_SEASON, "statistics": ["coarse"]}), list(flat_noise(4000, seed=11)))) == []


def test_a_restart_goes_on_with_the_coarse_memory() -> None:
    settings = {**NO_SEASON, "statistics": ["coarse"], "coarse": 5}
    before, after = shifted(0.0, points=900), shifted(2.0, at=300, points=600)
    live = build_detector(settings)
    run(live, before)
    restarted = build_detector(settings)
    restarted.restore(saved(live))
    expected, got = run(live, after, start=900), run(restarted, after, start=900)
    assert [(v.state, v.score, v.reason) for v in got] == [(v.state, v.score, v.reason) for v in expected]
    assert any(v.fired for v in expected)


def test_a_state_saved_before_the_coarse_statistic_existed_still_loads() -> None:
    live = build_detector({**NO_SEASON, "statistics": ["spike", "shift"]})
    run(live, list(flat_noise(300)))
    state = saved(live)
    del state["core"]["coarse"]
    restarted = build_detector(NO_SEASON)  # the default now adds coarse, with no history of its own yet
    restarted.restore(state)
    assert restarted.update(1e9, 100.0).state == "ok"


def test_a_coarse_memory_saved_for_another_length_is_refused() -> None:
    from andon.watch import DetectorStateError

    live = build_detector({**NO_SEASON, "coarse": 5})
    run(live, list(flat_noise(300)))
    with pytest.raises(DetectorStateError):
        build_detector({**NO_SEASON, "coarse": 7}).restore(saved(live))
