"""The NAB scorer on hand-computed cases, and the bench on a tiny NAB-layout folder (with and without labels)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from bench import nab
from bench.nab_scoring import MAX_TP, PROFILES, layout, probation_length, scaled_sigmoid, sweep, window_rows

STANDARD = PROFILES["standard"]


def test_scaled_sigmoid_at_its_landmarks() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert scaled_sigmoid(0.0) == pytest.approx(0.0, abs=1e-12)
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.0) == -1.0


def test_probation_is_15_percent_capped_at_750_rows() -> None:
    assert probation_length(100) == 15
    assert probation_length(4032) == 604
    assert probation_length(22695) == 750


def test_layout_weights_follow_the_sweep() -> None:
    # 100 rows, probation 15, one window over rows 40..49 (width 10)
    lay = layout(100, [(40, 49)], STANDARD)
    assert lay.windows == 1
    assert lay.weight[40] == pytest.approx(1.0)  # left edge: the full tp weight
    assert lay.weight[49] == pytest.approx(scaled_sigmoid(-1 / 10) / MAX_TP)
    assert lay.weight[30] == pytest.approx(-0.11)  # before any window: −fp
    # right after the window: distance 1 / (width − 1)
    assert lay.weight[50] == pytest.approx(0.11 * scaled_sigmoid(1 / 9))
    assert lay.weight[49 + 27] == pytest.approx(-0.11)  # 3 widths on: −fp
    assert not lay.scored[14] and lay.scored[15]


def _file(scores: list[float], windows: list[tuple[int, int]]) -> tuple[np.ndarray, object]:
    return np.array(scores), layout(len(scores), windows, STANDARD)


def test_sweep_counts_each_window_once_at_its_best_detection() -> None:
    scores = [0.0] * 100
    scores[42] = scores[45] = scores[47] = 0.9  # three detections in one window
    scores[80] = 0.9  # and a false positive far from it
    scores[5] = 1.0  # in probation: ignored
    result = sweep([_file(scores, [(40, 49)])], STANDARD, all_windows=1)
    threshold, raw = result.best()
    tp = scaled_sigmoid(-(49 - 42 + 1) / 10) / MAX_TP
    assert threshold == pytest.approx(0.9)
    assert raw == pytest.approx(tp - 0.11)
    assert result.null == pytest.approx(-1.0)
    assert result.at(0.95) == pytest.approx(-1.0)  # nothing detected above 0.9
    assert result.normalised(raw) == pytest.approx(100 * (tp - 0.11 + 1) / 2)


def test_perfect_and_null_detectors_score_100_and_0() -> None:
    perfect = [0.0] * 200
    perfect[60] = perfect[150] = 1.0
    files = [_file(perfect, [(60, 69), (150, 159)])]
    result = sweep(files, STANDARD, all_windows=2)
    assert result.normalised(result.best()[1]) == pytest.approx(100.0)
    null = sweep([_file([0.5] * 200, [(60, 69), (150, 159)])], STANDARD, all_windows=2)
    assert null.normalised(null.best()[1]) == pytest.approx(0.0)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_scores_null_0_perfect_100_and_a_late_detector_in_between(name: str) -> None:
    profile = PROFILES[name]
    windows = [(60, 69), (150, 159)]
    perfect = [0.0] * 200
    perfect[60] = perfect[150] = 1.0
    best = sweep([(np.array(perfect), layout(200, windows, profile))], profile, all_windows=2)
    assert best.normalised(best.best()[1]) == pytest.approx(100.0)
    null = sweep([(np.zeros(200), layout(200, windows, profile))], profile, all_windows=2)
    assert null.normalised(null.best()[1]) == pytest.approx(0.0)
    # one window found at its right edge (worth 0), one missed, one false positive: below the null detector
    late = [0.0] * 200
    late[69] = late[120] = 1.0
    result = sweep([(np.array(late), layout(200, windows, profile))], profile, all_windows=2)
    tp = scaled_sigmoid(-1 / 10) / MAX_TP * profile["tp"]
    fp = profile["fp"] * scaled_sigmoid((120 - 69) / 9)
    assert result.at(1.0) == pytest.approx(tp + fp - profile["fn"])
    assert result.null == pytest.approx(-2 * profile["fn"])


def test_window_rows_match_timestamps() -> None:
    stamps = [np.datetime64("2014-01-01T00:00") + np.timedelta64(5 * i, "m") for i in range(10)]
    assert window_rows(stamps, [("2014-01-01 00:10:00.000000", "2014-01-01 00:20:00.000000")]) == [(2, 4)]


def _corpus(root: Path) -> Path:
    data = root / "data" / "someCategory"
    data.mkdir(parents=True)
    for name, jump in (("a.csv", 40.0), ("b.csv", 0.0)):
        with (data / name).open("w", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(["timestamp", "value"])
            for i in range(600):
                minute = 5 * i
                value = 10.0 + math.sin(i / 7.0) + (jump if 400 <= i < 420 else 0.0)
                day, hour, mins = 1 + minute // 1440, minute % 1440 // 60, minute % 60
                out.writerow([f"2014-01-{day:02d} {hour:02d}:{mins:02d}:00", value])
    return root


def test_bench_writes_nab_result_files_without_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _corpus(tmp_path / "corpus")
    assert nab.main(["--data", str(root), "--results", str(tmp_path / "out"), "--jobs", "1"]) == 0
    written = tmp_path / "out" / "andon" / "someCategory" / "andon_a.csv"
    with written.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score", "label"]
    assert len(rows) == 600
    assert all(0.0 <= float(r["anomaly_score"]) <= 1.0 and r["label"] == "0" for r in rows)
    assert "scoring skipped" in capsys.readouterr().out


def test_bench_scores_when_labels_are_there(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _corpus(tmp_path / "corpus")
    windows = {"someCategory/a.csv": [["2014-01-02 07:00:00.000000", "2014-01-02 10:00:00.000000"]]}
    (root / "windows.json").write_text(json.dumps(windows))
    assert nab.main(["--data", str(root), "--results", str(tmp_path / "out"), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "reward_low_FN_rate" in out and "overall" in out
    summary = json.loads((tmp_path / "out" / "andon" / "final_results.json").read_text())
    assert summary["standard"]["score"] > 50.0  # the 40-unit jump in a is found, b stays quiet
    with (tmp_path / "out" / "andon" / "someCategory" / "andon_a.csv").open() as handle:
        labels = [r["label"] for r in csv.DictReader(handle)]
    assert labels.count("1") == 37


def test_split_scores_the_odd_and_even_numbered_files_apart() -> None:
    stamps = [np.datetime64("2014-01-01T00:00") + np.timedelta64(5 * i, "m") for i in range(200)]
    window = [(str(stamps[100]), str(stamps[109]))]
    found, missed = np.zeros(200), np.zeros(200)
    found[100] = 1.0
    # sorted keys: a (1st, odd), b (2nd, even), c (3rd, odd); only b misses its window
    results = {"cat/c.csv": found, "cat/a.csv": found, "cat/b.csv": missed}
    halves = nab.split_scores(results, dict.fromkeys(results, stamps), dict.fromkeys(results, window))
    assert halves["odd"]["standard"] == pytest.approx(100.0)
    assert halves["even"]["standard"] == pytest.approx(0.0)
    assert set(halves["odd"]) == set(PROFILES)
