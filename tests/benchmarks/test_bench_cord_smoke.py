"""The cord bench's quick mode end to end: real gateway, stub, store, watcher and cord on simulated time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bench.cord import FAULTS, main, parse, poisson, rate_at
from hypothesis import given
from hypothesis import strategies as st


def test_quick_mode_stops_the_label_shift_and_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "cord.json"
    result = main(["--quick", "--faults", "label_shift", "--out", str(out)])
    assert json.loads(out.read_text(encoding="utf-8"))["faults"].keys() == result["faults"].keys() == {"label_shift"}
    shift = result["faults"]["label_shift"]
    assert shift["rounds"] == 1 and shift["missed"] == 0
    assert shift["pulled_by"] == ["reject-rate"]
    # stopped means the gateway now sends the calls to the review queue, every one of them
    assert shift["calls_after_stop"] > 0 and shift["queued_after_stop"] == shift["calls_after_stop"]
    (found,) = result["rounds"]
    assert found["detected"] is not None and found["stopped"] >= found["detected"] > found["onset"]
    # the evidence the cord had: the AI's answers from the onset to the stop, and the traffic at the onset
    assert 0 < found["answers_to_stop"] <= result["calls"]
    assert 30.0 - 1e-9 <= found["rate"] <= 90.0 + 1e-9
    assert shift["onset_rate_per_min"] == [round(found["rate"])]
    assert result["fault_free_days"] > 0 and result["false_pulls_per_day"] is not None
    assert result["false_pulls_per_day_95_upper"] > result["false_pulls_per_day"]
    assert result["calls"] > 0 and result["monitor_points"] > 0
    assert set(result["settings"]["monitors"]) == {"errors", "latency", "reject-rate", "cost"}


@given(st.integers(0, 23), st.integers(0, 59))
def test_the_daily_rate_swings_half_way_around_its_mean(hour: int, minute: int) -> None:
    rate = rate_at(datetime(2026, 6, 1, hour, minute, tzinfo=UTC), 60.0)
    assert 30.0 - 1e-9 <= rate <= 90.0 + 1e-9  # ±50 %, float slack only
    assert rate_at(datetime(2026, 6, 1, 16, tzinfo=UTC), 60.0) > rate_at(datetime(2026, 6, 1, 4, tzinfo=UTC), 60.0)


def test_poisson_draws_average_to_their_mean() -> None:
    import random

    rng = random.Random(3)
    for lam in (0.5, 12.0, 200.0):
        draws = [poisson(rng, lam) for _ in range(4000)]
        assert all(d >= 0 for d in draws)
        # the mean of 4000 draws lies within 5 standard errors of lam
        assert abs(sum(draws) / len(draws) - lam) < 5 * (lam / len(draws)) ** 0.5
    assert len(FAULTS) == 4


def test_the_start_hour_is_an_hour_of_the_day() -> None:
    assert parse(["--start-hour", "10.5"]).start_hour == 10.5
    assert parse([]).start_hour == 0.0
    for bad in ("24", "-1"):
        with pytest.raises(SystemExit):
            parse(["--start-hour", bad])
