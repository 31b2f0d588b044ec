"""Metric computations in andon.evals.metrics: hand-computed reports and hypothesis properties."""

from __future__ import annotations

from collections.abc import Hashable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.evals.metrics import (
    MetricValue,
    classification_report,
    latency_metrics,
    mean_score,
    pass_rate,
    unit_economics,
)
from andon.evals.stats import StatisticsError

# --- classification ----------------------------------------------------------------------------------------


def test_classification_report_by_hand() -> None:
    y_true = ["cat", "cat", "cat", "dog", "dog", "bird"]
    y_pred = ["cat", "cat", "dog", "dog", "cat", "bird"]
    report = classification_report(y_true, y_pred)
    assert report.labels == ("bird", "cat", "dog")
    # rows = true, cols = pred, in label order bird, cat, dog
    assert report.confusion == ((1, 0, 0), (0, 2, 1), (0, 1, 1))
    stats = {s.label: s for s in report.per_label}
    # cat: tp 2, predicted 3, support 3 → P = R = F1 = 2/3
    assert stats["cat"].precision == pytest.approx(2 / 3)
    assert stats["cat"].recall == pytest.approx(2 / 3)
    assert stats["cat"].f1 == pytest.approx(2 / 3)
    # dog: tp 1, predicted 2, support 2 → P = R = F1 = 1/2
    assert (stats["dog"].precision, stats["dog"].recall, stats["dog"].f1) == (0.5, 0.5, 0.5)
    assert (stats["bird"].precision, stats["bird"].recall, stats["bird"].support) == (1.0, 1.0, 1)
    # macro F1 = (1 + 2/3 + 1/2) / 3 = 13/18
    assert report.macro_f1 == pytest.approx(13 / 18)
    assert report.accuracy == pytest.approx(4 / 6)
    assert (report.correct, report.n) == (4, 6)
    assert report.accuracy_low < report.accuracy < report.accuracy_high


def test_zero_division_is_zero_and_declared_labels_count_in_macro() -> None:
    report = classification_report(["a", "a"], ["a", "a"], labels=["a", "b"])
    stats = {s.label: s for s in report.per_label}
    assert (stats["b"].precision, stats["b"].recall, stats["b"].f1, stats["b"].support) == (0.0, 0.0, 0.0, 0)
    assert report.macro_f1 == 0.5  # (1 + 0) / 2: a declared label never seen still counts
    assert report.accuracy == 1.0


def test_predicted_only_label_is_in_matrix_but_not_in_macro() -> None:
    # A failed call (None) and an invalid label: in the matrix, so it sums to n, but not macro-averaged.
    report = classification_report(["yes", "no", "yes", "no"], ["yes", None, "maybe", "no"], labels=["yes", "no"])
    assert report.labels[:2] == ("yes", "no")
    assert set(report.labels[2:]) == {None, "maybe"}
    assert report.macro_labels == ("yes", "no")
    # yes: P 1, R 1/2, F1 2/3; no: P 1, R 1/2, F1 2/3
    assert report.macro_f1 == pytest.approx(2 / 3)
    assert sum(map(sum, report.confusion)) == 4


def test_classification_metrics_names_and_intervals() -> None:
    report = classification_report(["a", "b"], ["a", "a"])
    by_name = {m.name: m for m in report.metrics()}
    assert by_name["accuracy"].low is not None and by_name["accuracy"].n == 2
    assert by_name["precision[a]"].value == 0.5 and by_name["precision[a]"].n == 2
    assert by_name["recall[b]"].value == 0.0 and by_name["recall[b]"].n == 1
    assert "macro_f1" in by_name


def test_classification_rejects_bad_input() -> None:
    with pytest.raises(StatisticsError):
        classification_report(["a"], ["a", "b"])
    with pytest.raises(StatisticsError):
        classification_report([], [])


label_pairs = st.lists(
    st.tuples(st.sampled_from(["x", "y", "z"]), st.sampled_from(["x", "y", "z", "junk"])), min_size=1, max_size=80
)


@given(label_pairs)
def test_confusion_matrix_accounts_for_every_case(pairs: list[tuple[str, str]]) -> None:
    y_true: list[Hashable] = [t for t, _ in pairs]
    y_pred: list[Hashable] = [p for _, p in pairs]
    report = classification_report(y_true, y_pred)
    m = report.confusion
    assert sum(map(sum, m)) == len(pairs)
    diagonal = sum(m[i][i] for i in range(len(m)))
    assert diagonal == sum(1 for t, p in pairs if t == p) == report.correct
    for i, s in enumerate(report.per_label):
        assert sum(m[i]) == s.support == y_true.count(s.label)
        assert sum(row[i] for row in m) == s.predicted == y_pred.count(s.label)


@given(label_pairs)
def test_scores_are_bounded_and_f1_is_a_harmonic_mean(pairs: list[tuple[str, str]]) -> None:
    report = classification_report([t for t, _ in pairs], [p for _, p in pairs])
    for s in report.per_label:
        assert 0.0 <= s.f1 <= 1.0
        assert min(s.precision, s.recall) - 1e-12 <= s.f1 <= max(s.precision, s.recall) + 1e-12
    for value in (report.macro_precision, report.macro_recall, report.macro_f1, report.accuracy):
        assert 0.0 <= value <= 1.0
    assert "junk" not in report.macro_labels
    assert report.accuracy_low <= report.accuracy <= report.accuracy_high


# --- pass rate, scores, latency ----------------------------------------------------------------------------


def test_pass_rate_8_of_10() -> None:
    result = pass_rate([True] * 8 + [False] * 2)
    assert (result.rate, result.n, result.passed) == (0.8, 10, 8)
    assert result.low == pytest.approx(0.490162, abs=1e-6)  # Wilson, see test_stats
    assert result.high == pytest.approx(0.943318, abs=1e-6)
    assert result.metric() == MetricValue("pass_rate", 0.8, result.low, result.high, 10)


def test_pass_rate_of_nothing_fails_safe() -> None:
    result = pass_rate([])
    assert (result.rate, result.low, result.high, result.n) == (0.0, 0.0, 1.0, 0)


@given(st.lists(st.booleans(), min_size=1, max_size=200))
def test_pass_rate_interval_contains_rate(passes: list[bool]) -> None:
    result = pass_rate(passes)
    assert result.low <= result.rate <= result.high
    assert result.rate == passes.count(True) / len(passes)


def test_mean_score_carries_bootstrap_interval() -> None:
    metric = mean_score([0.0, 0.5, 1.0, 1.0], name="rubric")
    assert metric.name == "rubric" and metric.value == 0.625 and metric.n == 4
    assert metric.low is not None and metric.high is not None
    assert 0.0 <= metric.low <= 0.625 <= metric.high <= 1.0


def test_latency_metrics() -> None:
    metrics = {m.name: m for m in latency_metrics([100.0, 200.0, 300.0, 400.0, 1000.0])}
    # h = 4q: p50 → 300; p90 → h 3.6 → 400 + .6·600 = 760
    assert metrics["latency_p50"].value == 300.0
    assert metrics["latency_p90"].value == pytest.approx(760.0)
    assert metrics["latency_max"].value == 1000.0
    assert all(m.unit == "ms" and m.n == 5 for m in metrics.values())


# --- unit economics ----------------------------------------------------------------------------------------


def test_unit_economics_by_hand() -> None:
    # 4 cases, 6 calls (two cases took two steps), total cost 12 KRW, tokens 400 in / 100 out.
    econ = unit_economics([2.0, 4.0, 1.0, 5.0], [100, 100, 100, 100], [10, 20, 30, 40], n_calls=6, currency="KRW")
    assert econ.cost_total == 12.0
    assert econ.cost_per_case == 3.0
    assert econ.cost_per_1k_calls == pytest.approx(2000.0)  # 12 / 6 · 1000
    assert econ.tokens_in_per_case == 100.0
    assert econ.tokens_out_per_1k_calls == pytest.approx(100 / 6 * 1000)
    units = {m.name: m.unit for m in econ.metrics()}
    assert units["cost_per_case"] == "KRW" and units["tokens_in_per_case"] == "tokens"


def test_unit_economics_unknown_cost_is_not_an_undercount() -> None:
    econ = unit_economics([1.0, None], [10, 10], [5, 5], n_calls=2)
    assert econ.cost_total is None and econ.cost_per_case is None and econ.cost_per_1k_calls is None
    assert econ.cost_unknown == 1
    assert econ.tokens_in_per_case == 10.0
    assert {m.name for m in econ.metrics()}.isdisjoint({"cost_per_case", "cost_per_1k_calls"})


def test_unit_economics_without_calls_or_cases() -> None:
    econ = unit_economics([], [], [], n_calls=0)
    assert econ.cost_per_case is None and econ.tokens_in_per_1k_calls is None
    assert econ.metrics() == []


def test_unit_economics_rejects_mismatched_lengths() -> None:
    with pytest.raises(StatisticsError):
        unit_economics([1.0], [1, 2], [1], n_calls=1)
    with pytest.raises(StatisticsError):
        unit_economics([1.0], [1], [1], n_calls=-1)
