"""The reject-rate detector alone: onsets drawn at a time of day, and the calls each detection took."""

from __future__ import annotations

from statistics import median

from bench.cord import monitors
from bench.cord_detector import delays


def test_a_night_onset_takes_longer_for_about_the_same_calls() -> None:
    settings = monitors(60.0)["reject-rate"]["detector"]
    night = delays(settings, 7, 60.0, seed=5, step=15.0, hours=(3.5, 4.5))  # ~30 calls a minute
    peak = delays(settings, 7, 60.0, seed=5, step=15.0, hours=(15.5, 16.5))  # ~90 calls a minute
    assert all(seconds > 0 and calls > 0 for seconds, calls in night + peak)
    # the evidence a detection needs is calls, not seconds: three times the traffic, a much shorter wait
    assert median(s for s, _ in night) > 1.5 * median(s for s, _ in peak)
    calls_night, calls_peak = median(c for _, c in night), median(c for _, c in peak)
    assert calls_peak / 2 < calls_night < 2 * calls_peak
