"""The `rollout:` section: good steps load, bad step lists and unknown metrics name their file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from andon.config.loader import load_config
from andon.errors import ConfigError
from andon.messages import set_language

HEAD = "features:\n  menu:\n    versions:\n      v1: {python: m:f}\n    rollout:\n"


def load(tmp_path: Path, rollout: str) -> Path:
    path = tmp_path / "andon.yaml"
    path.write_text(HEAD + rollout, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_a_rollout_loads_with_durations_calls_and_defaults(tmp_path: Path) -> None:
    path = load(
        tmp_path, "      steps: [{weight: 5, hold: 10m}, {weight: 25, calls: 500}, {weight: 50, hold: 1h, calls: 9}]\n"
    )
    rollout = load_config(path).config.features["menu"].rollout
    assert rollout is not None
    assert [(s.weight, s.hold, s.calls) for s in rollout.steps] == [(5, 600.0, None), (25, None, 500), (50, 3600.0, 9)]
    assert rollout.sticky == "user" and [m.metric for m in rollout.metrics] == ["error_rate", "latency_ms"]
    assert rollout.metrics[1].direction == "lower"


def test_weights_that_do_not_rise_name_the_steps_line(tmp_path: Path) -> None:
    path = load(
        tmp_path,
        "      sticky: session\n      steps:\n        - {weight: 25, hold: 5m}\n        - {weight: 10, hold: 5m}\n",
    )
    text = error_of(path)
    assert f"{path}:7:" in text and "features.menu.rollout.steps" in text
    assert "step 2's weight 10" in text


def test_a_step_without_hold_or_calls_names_its_line(tmp_path: Path) -> None:
    path = load(tmp_path, "      steps:\n        - {weight: 5, hold: 1m}\n        - {weight: 50}\n")
    text = error_of(path)
    assert f"{path}:8:" in text and "steps[1]" in text and "hold" in text


def test_an_unknown_metric_names_its_line_and_the_known_ones(tmp_path: Path) -> None:
    path = load(tmp_path, "      steps: [{weight: 5, calls: 10}]\n      metrics:\n        - {metric: error_rate}\n"
                "        - {metric: p99_latency, tolerance: 0.1}\n")  # fmt: skip
    text = error_of(path)
    assert f"{path}:9:" in text and "metrics[1].metric" in text
    assert "p99_latency" in text and "latency_ms" in text


def test_label_share_needs_a_path_and_labels(tmp_path: Path) -> None:
    path = load(
        tmp_path,
        "      steps: [{weight: 5, calls: 10}]\n      metrics:\n        - {metric: label_share, path: decision}\n",
    )
    assert "labels" in error_of(path)


def test_marginal_above_pass_is_refused(tmp_path: Path) -> None:
    path = load(tmp_path, "      steps: [{weight: 5, calls: 10}]\n      pass_score: 80\n      marginal_score: 90\n")
    text = error_of(path)
    assert f"{path}:8:" in text and "marginal_score" in text


def test_the_error_reads_in_korean(tmp_path: Path) -> None:
    set_language("ko")
    path = load(tmp_path, "      steps: [{weight: 5, calls: 10}]\n      metrics: [{metric: nope}]\n")
    assert "알 수 없는 롤아웃 지표 'nope'" in error_of(path)
