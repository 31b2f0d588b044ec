"""Calibration in the reports: JSON round trip, the HTML section's SVG in both languages, confidence sources."""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET

import pytest
from tests.support.report_fixtures import build_report

from andon.errors import ConfigError
from andon.evals.calibration import Point, summarize_calibration
from andon.evals.confidence import confidence_points, parse_source
from andon.evals.model import CellResult, Grade
from andon.evals.report.export import report_from_dict, report_to_dict
from andon.evals.report.html import render_html


def _with_calibration() -> object:
    report = build_report(n_cases=12, versions=("v1",), repeats=1)
    points = [Point(i / 10, i >= 4) for i in range(11)]
    version_id = report.summaries[0].version_id
    calibration = summarize_calibration(version_id, "v1", "field:confidence", points, skipped=1)
    return dataclasses.replace(report, calibration=[calibration])


def test_calibration_survives_the_json_round_trip() -> None:
    report = _with_calibration()
    data = json.loads(json.dumps(report_to_dict(report)))  # type: ignore[arg-type]
    back = report_from_dict(data)
    assert back.calibration == report.calibration  # type: ignore[attr-defined]
    assert data["calibration"][0]["ece"] == pytest.approx(back.calibration[0].ece)
    old = {k: v for k, v in data.items() if k != "calibration"}  # a report written before calibration existed
    assert report_from_dict(old).calibration == []


@pytest.mark.parametrize(("language", "title"), [("en", "Calibration and automation"), ("ko", "보정과 자동화")])
def test_the_html_section_draws_well_formed_svg(language: str, title: str) -> None:
    page = render_html(_with_calibration(), language=language)  # type: ignore[arg-type]
    section = re.search(r'<section id="calibration">.*?</section>', page, re.S)
    assert section is not None and title in section.group(0)
    charts = re.findall(r"<svg .*?</svg>", section.group(0), re.S)
    assert len(charts) == 2
    for chart in charts:
        ET.fromstring(chart)  # parses: every tag closed, attributes quoted
    assert charts[0].count("<rect") == 10  # eleven points, ten non-empty bins (0.9 and 1.0 share the last)
    assert "<polyline" in charts[1]


def test_no_confidence_means_no_section() -> None:
    report = build_report(n_cases=5, versions=("v1",), repeats=1)
    assert 'id="calibration"' not in render_html(report)


def _cell(answer: object, passed: bool, grades: list[Grade] | None = None, status: str = "ok") -> CellResult:
    return CellResult(
        run_id="r", version_id="v", version_name="v", case_id="c", repeat=0, output_id=None, status=status,
        score=1.0, passed=passed, output_json=answer, grades=grades or [],
    )  # fmt: skip


def test_confidence_comes_from_a_field_or_a_grader() -> None:
    cells = [
        _cell({"meta": {"p": 0.8}}, True),
        _cell({"meta": {"p": "0.3"}}, False),
        _cell({"meta": {}}, True),  # no confidence: skipped
        _cell({"meta": {"p": 7}}, True),  # not a 0–1 confidence: skipped
        _cell(None, False, status="error"),  # did not run: left out altogether
    ]
    points, skipped = confidence_points(cells, "field:meta.p")
    assert points == [Point(0.8, True), Point(0.3, False)] and skipped == 2
    judged = [_cell("x", True, [Grade("judge", 0.7, True)]), _cell("y", False, [Grade("judge", 0.2, False)])]
    assert confidence_points(judged, "grader:judge")[0] == [Point(0.7, True), Point(0.2, False)]
    assert parse_source("meta.p") == ("field", "meta.p")
    for bad in ("entropy:x", "logprob:", "grader:", "field:a..b"):  # logprob:PATH is a source now
        with pytest.raises(ConfigError):
            parse_source(bad)
