"""``--suggest-routing``'s andon.yaml lines are a valid routing for the source measured: a field's path as is, the
token logprobs of a value with ``confidence_source: logprob``; a grader's score has no lines (the gateway has none)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from rich.console import Console

from andon.cli.routing_advice import print_routing
from andon.config.schema import RoutingConfig
from andon.evals.calibration import Point, parse_target, summarize_calibration


def _printed(source: str) -> str:
    # 40 right answers at confidence 0.60–0.99, then 10 answers at 0.10–0.19 of which half are wrong.
    points = [Point(0.6 + i / 100, True) for i in range(40)] + [Point(0.1 + i / 100, i % 2 == 0) for i in range(10)]
    calibration = summarize_calibration("vid", "v1", source, points, 0)
    report: Any = SimpleNamespace(calibration=[calibration], run=SimpleNamespace(feature="menu"))
    out = Console(record=True, width=300, color_system=None)
    print_routing(report, parse_target("precision >= 0.9"), out, "en")
    return out.export_text()


def _routing(text: str) -> RoutingConfig:
    snippet = text[text.index("features:") :]
    return RoutingConfig.model_validate(yaml.safe_load(snippet)["features"]["menu"]["serve"]["routing"])


@pytest.mark.parametrize(("source", "kind"), [("logprob:decision", "logprob"), ("field:score", "field")])
def test_the_printed_lines_route_on_the_source_that_was_measured(source: str, kind: str) -> None:
    text = _printed(source)
    routing = _routing(text)
    assert routing.confidence_path == source.partition(":")[2] and routing.confidence_source == kind
    # All 40 answers from 0.6 up are right: 40 of 40 has a lower bound of 91.2% (0.025^(1/40)); below it, mixed.
    assert routing.min_confidence == pytest.approx(0.6)
    assert f"confidence ≥ 0.6 ({source})" in " ".join(text.split())


def test_a_graders_score_is_not_servable() -> None:
    text = _printed("grader:judge")
    assert "features:" not in text and "which the gateway does not have when it serves" in " ".join(text.split())
