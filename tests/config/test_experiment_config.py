"""The `experiments:` section: a good experiment loads with its defaults; bad arms, unknown metrics and
repeated metrics name their file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from andon.config.loader import load_config
from andon.errors import ConfigError
from andon.messages import set_language

ARMS = "        arms: [{version: v1, weight: 50}, {version: v2, weight: 50}]\n"
HEAD = "features:\n  menu:\n    versions:\n      v1: {python: m:f}\n      v2: {python: m:g}\n    experiments:\n"


def load(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "andon.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_an_experiment_loads_with_shorthand_metrics_and_defaults(tmp_path: Path) -> None:
    body = "        metric: {metric: value, event: revenue}\n        guardrails: [error_rate, latency_ms]\n"
    path = load(tmp_path, "      tone:\n" + ARMS + body)
    experiment = load_config(path).config.features["menu"].experiments["tone"]
    assert experiment.unit == "user" and experiment.alpha == 0.05 and experiment.min_samples == 100
    assert (experiment.metric.kind, experiment.metric.event_name, experiment.metric.direction) == (
        "mean", "revenue", "higher")  # fmt: skip
    assert [(g.metric, g.kind, g.direction) for g in experiment.guardrails] == [
        ("error_rate", "proportion", "lower"), ("latency_ms", "mean", "lower")]  # fmt: skip


def test_weights_that_do_not_add_up_name_the_arms_line(tmp_path: Path) -> None:
    path = load(tmp_path, "      tone:\n        metric: conversion\n        arms:\n"
                "          - {version: v1, weight: 50}\n          - {version: v2, weight: 40}\n")  # fmt: skip
    text = error_of(path)
    assert f"{path}:9:" in text and "features.menu.experiments.tone.arms" in text and "90" in text


def test_one_version_in_two_arms_is_refused(tmp_path: Path) -> None:
    path = load(tmp_path, "      tone:\n        metric: conversion\n"
                "        arms: [{version: v1, weight: 50}, {version: v1, weight: 50}]\n")  # fmt: skip
    assert "v1 is in two arms" in error_of(path)


def test_an_unknown_metric_names_its_line_and_the_known_ones(tmp_path: Path) -> None:
    body = "        metric: conversion\n        guardrails:\n          - error_rate\n          - p99\n"
    path = load(tmp_path, "      tone:\n" + ARMS + body)
    text = error_of(path)
    assert f"{path}:12:" in text and "guardrails[1]" in text and "p99" in text and "latency_ms" in text


def test_a_metric_listed_twice_and_an_event_on_a_trace_metric_are_refused(tmp_path: Path) -> None:
    arms = "        arms: [{version: v1, weight: 50}, {version: v2, weight: 50}]\n"
    twice = load(tmp_path, "      tone:\n" + arms + "        metric: error_rate\n        guardrails: [error_rate]\n")
    assert "error_rate is listed twice" in error_of(twice)
    event = load(tmp_path, "      tone:\n" + arms + "        metric: {metric: latency_ms, event: x}\n")
    assert "only conversion and value" in error_of(event)


def test_the_error_reads_in_korean(tmp_path: Path) -> None:
    set_language("ko")
    path = load(tmp_path, "      tone:\n        arms: [{version: v1, weight: 50}, {version: v2, weight: 50}]\n"
                "        metric: nope\n")  # fmt: skip
    assert "알 수 없는 실험 지표 'nope'" in error_of(path)
