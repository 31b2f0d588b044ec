"""Slices: every metric per tag, expected label and policy item, with intervals, and criteria that name a slice."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.schema import FeatureConfig
from andon.errors import ConfigError
from andon.evals.model import Case, CellResult
from andon.evals.stats import wilson_interval
from andon.evals.summarize import Conversion, summarize_version

USD = Conversion("USD", {})


def _cell(case: str, passed: bool, *, said: list[str] | None = None, label: str | None = None,
          expected: str | None = None) -> CellResult:  # fmt: skip
    return CellResult(
        run_id="run", version_id="v", version_name="v", case_id=case, repeat=0, output_id=None, status="ok",
        score=1.0 if passed else 0.0, passed=passed, latency_ms=10.0, cost=None, currency="USD",
        predicted_label=label, expected_label=expected, grades=[], output_text="x",
        output_json={"violations": said or []},
    )  # fmt: skip


def _world() -> tuple[list[CellResult], dict[str, Case]]:
    """Ten cases: c0–c3 tagged hard (1 of 4 passes), c4–c9 easy (all pass); c0–c4 expect a phone_number code."""
    cases, cells = {}, []
    for i in range(10):
        codes = ["phone_number"] if i < 5 else []
        cases[f"c{i}"] = Case(f"c{i}", {}, expected={"violations": codes}, tags=("hard",) if i < 4 else ("easy",))
        passed = i >= 3
        said = ["phone_number"] if i in (1, 2, 3, 4, 9) else []  # finds 4 of the 5, and names c9 wrongly
        cells.append(_cell(f"c{i}", passed, said=said))
    return cells, cases


def test_slice_figures_match_hand_counts_with_their_intervals() -> None:
    cells, cases = _world()
    summary = summarize_version("v", "v", cells, cases, FeatureConfig(), USD)
    figures = summary.metrics
    hard = figures["pass_rate[tag=hard]"]
    assert (hard.value, hard.n) == (pytest.approx(0.25), 4)
    assert (hard.low, hard.high) == pytest.approx(wilson_interval(1, 4))  # a small slice keeps its interval
    assert figures["pass_rate[tag=easy]"].value == pytest.approx(1.0)
    recall = figures["recall[violation=phone_number]"]
    assert (recall.value, recall.n) == (pytest.approx(4 / 5), 5)
    precision = figures["precision[violation=phone_number]"]
    assert (precision.value, precision.n) == (pytest.approx(4 / 5), 5)  # c9 was named but expected nothing
    keys = {(s.key, s.value, s.n_cases) for s in summary.slices}
    assert {("tag", "hard", 4), ("tag", "easy", 6), ("violation", "phone_number", 5)} <= keys


def test_criteria_judge_a_slice_and_an_empty_slice_fails_with_a_note() -> None:
    cells, cases = _world()
    config = FeatureConfig(
        criteria=["pass_rate[tag=easy] >= 0.5", "pass_rate[tag=hard] >= 0.8", "accuracy[tag=hrad] >= 0.5"]
    )
    results = summarize_version("v", "v", cells, cases, config, USD).criteria
    assert [r.passed for r in results] == [True, False, False]
    assert "hard" in (results[2].note or "")  # names the slices that exist, nearest first


@pytest.mark.parametrize("bad", ["accuracy[tag=] >= 0.8", "accuracy[colour=red] >= 0.8", "recall[tag=x] >= 0.8"])
def test_a_bad_slice_criterion_is_refused_with_a_message(bad: str) -> None:
    with pytest.raises((ConfigError, ValueError)):
        FeatureConfig(criteria=[bad])


@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=40), st.data())
def test_label_slices_partition_the_cases(labels: list[str], data: st.DataObject) -> None:
    """Each case has one expected label, so the label slices' case counts and passes add up to the whole."""
    passes = data.draw(st.lists(st.booleans(), min_size=len(labels), max_size=len(labels)))
    cases = {f"c{i}": Case(f"c{i}", {}, label=label) for i, label in enumerate(labels)}
    cells = [dataclasses.replace(_cell(f"c{i}", ok), expected_label=labels[i]) for i, ok in enumerate(passes)]
    summary = summarize_version("v", "v", cells, cases, FeatureConfig(), USD)
    label_slices = [s for s in summary.slices if s.key == "label"]
    assert sum(s.n_cases for s in label_slices) == len(labels)
    passed = sum(round(summary.metrics[f"pass_rate[label={s.value}]"].value * s.n_cases) for s in label_slices)
    assert passed == sum(passes)
