"""Summaries, criteria judging (strict on the pessimistic bound), judge agreement, and paired comparison."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.schema import FeatureConfig, GraderSpec
from andon.evals.compare import compare_cells
from andon.evals.model import Case, CellResult, Grade
from andon.evals.summarize import Conversion, proportion, quantile_interval, summarize_version

KRW = Conversion("KRW", {"USD": 1400.0})


def cell(case: str, passed: bool, *, repeat: int = 0, version: str = "v", latency: float = 100.0,
         cost: float | None = 1.0, label: str | None = None, expected: str | None = None,
         grades: list[Grade] | None = None) -> CellResult:  # fmt: skip
    return CellResult(
        run_id="run", version_id=version, version_name=version, case_id=case, repeat=repeat, output_id=None,
        status="ok", score=1.0 if passed else 0.0, passed=passed, latency_ms=latency, cost=cost, currency="USD",
        predicted_label=label, expected_label=expected, grades=grades or [], output_text="x" if passed else "y",
    )  # fmt: skip


def test_metrics_criteria_and_strict_bounds() -> None:
    cells = [cell(f"c{i}", i < 18, latency=10.0 * i, label="a" if i < 18 else "b", expected="a") for i in range(20)]
    lenient = FeatureConfig(criteria=["pass_rate >= 0.85", "p95_latency_ms <= 200", "cost_per_1k <= 1500000 KRW"])
    summary = summarize_version("v", "v", cells, {}, lenient, KRW)
    metrics = summary.metrics
    assert metrics["pass_rate"].value == pytest.approx(0.9)
    assert metrics["pass_rate"].low is not None and metrics["pass_rate"].low < 0.9 < (metrics["pass_rate"].high or 0)
    assert metrics["accuracy"].value == pytest.approx(0.9)
    assert metrics["cost_per_case"].value == pytest.approx(1400.0) and metrics["cost_per_case"].unit == "KRW"
    assert metrics["cost_per_1k"].value == pytest.approx(1_400_000.0)
    assert [r.passed for r in summary.criteria] == [True, True, True] and summary.gate_passed
    strict = FeatureConfig(criteria=["pass_rate >= 0.85"], strict=True)
    judged = summarize_version("v", "v", cells, {}, strict, KRW)
    result = judged.criteria[0]
    assert result.judged_on == "lower bound" and result.judged_value == metrics["pass_rate"].low
    assert not result.passed and not judged.gate_passed  # 18/20 passes, but its Wilson lower bound is < 0.85


def test_missing_metric_and_wrong_currency_fail_with_a_note() -> None:
    cells = [cell("c1", True)]
    config = FeatureConfig(criteria=["recall[reject] >= 0.9", "cost_per_1k <= 3 USD"])
    summary = summarize_version("v", "v", cells, {}, config, KRW)
    notes = [r.note or "" for r in summary.criteria]
    assert not any(r.passed for r in summary.criteria)
    assert "not measured" in notes[0] and "exchange_rates" in notes[1]


def test_repeats_give_stability_and_cluster_intervals() -> None:
    cells = [cell(f"c{i}", r == 0 or i % 2 == 0, repeat=r) for i in range(10) for r in range(3)]
    summary = summarize_version("v", "v", cells, {}, FeatureConfig(), KRW)
    assert summary.metrics["pass_all_repeats"].value == pytest.approx(0.5)
    assert summary.metrics["flip_rate"].value == pytest.approx(0.5)
    assert summary.metrics["pass_any_repeat"].value == 1.0
    assert summary.stability is not None and summary.stability.min_repeats == 3


def test_untrusted_judge_blocks_the_gate() -> None:
    spec = GraderSpec(type="llm-rubric", name="tone", judge="local", rubric="polite?", min_kappa=0.6)
    config = FeatureConfig(graders=[spec], criteria=["pass_rate >= 0"])
    cases = {f"c{i}": Case(id=f"c{i}", vars={}, human={"tone": "pass" if i % 2 else "fail"}) for i in range(10)}
    # The judge says pass to everything: no agreement beyond chance with the humans.
    cells = [cell(f"c{i}", True, grades=[Grade("tone", 1.0, True)]) for i in range(10)]
    summary = summarize_version("v", "v", cells, cases, config, KRW)
    assert summary.judges[0].n == 10 and not summary.judges[0].trusted
    assert not summary.gate_passed and "kappa" in summary.gate_errors[0]


def test_compare_finds_flips_and_is_antisymmetric() -> None:
    a = [cell(f"c{i}", i < 5, version="a") for i in range(30)]
    b = [cell(f"c{i}", i < 25, version="b") for i in range(30)]
    ab = compare_cells("a", "a", a, "b", "b", b)
    ba = compare_cells("b", "b", b, "a", "a", a)
    assert (ab.mcnemar_b, ab.mcnemar_c) == (0, 20) and ab.verdict == "better"
    assert (ba.mcnemar_b, ba.mcnemar_c) == (20, 0) and ba.verdict == "worse"
    assert ab.mcnemar_p == ba.mcnemar_p < 0.05
    assert {f.case_id for f in ab.flipped} == {f"c{i}" for i in range(5, 25)}
    pass_delta = next(d for d in ab.deltas if d.name == "pass_rate")
    assert pass_delta.delta == pytest.approx(20 / 30) and pass_delta.low is not None and pass_delta.low > 0
    same = compare_cells("a", "a", a, "a2", "a2", a)
    assert same.verdict == "no detectable difference" and same.flipped == []


def test_a_case_parked_for_approval_is_left_out_of_the_comparison_as_of_the_summary() -> None:
    # A cell parked at a tool call waiting for a person has no answer: counting it as a failure in McNemar
    # would make a version that rightly asks for approval look worse than the summary says.
    a = [cell(f"c{i}", i < 6, version="a") for i in range(10)]
    b = [cell(f"c{i}", i < 6, version="b") for i in range(10)]
    b[0] = dataclasses.replace(b[0], status="parked", passed=False, score=0.0)
    result = compare_cells("a", "a", a, "b", "b", b)
    assert (result.mcnemar_b, result.mcnemar_c) == (0, 0) and result.flipped == []
    assert result.n_pairs == 9 and result.left_out == 1


@given(passes=st.lists(st.lists(st.booleans(), min_size=1, max_size=4), min_size=1, max_size=40))
def test_proportion_interval_contains_the_estimate(passes: list[list[bool]]) -> None:
    metric = proportion(passes, "p")
    assert metric.low is not None and metric.high is not None
    assert 0.0 <= metric.low <= metric.value + 1e-12 and metric.value - 1e-12 <= metric.high <= 1.0


@given(
    values=st.lists(st.floats(0, 1e5, allow_nan=False), min_size=1, max_size=300),
    q=st.sampled_from([0.5, 0.9, 0.95, 0.99]),
)
def test_quantile_interval_brackets_the_quantile(values: list[float], q: float) -> None:
    metric = quantile_interval(values, q, "p")
    assert metric.low is not None and metric.high is not None
    assert min(values) <= metric.low <= metric.value <= metric.high <= max(values)
