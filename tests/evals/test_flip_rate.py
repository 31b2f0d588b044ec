"""Flip rates against hand-counted pairs: which pairs flip, the Wilson interval, repeats, and failed cells."""

from __future__ import annotations

import pytest

from andon.evals.model import Case, CellResult
from andon.evals.robustness import ANY, Pair, flip_report
from andon.evals.stats import wilson_interval

V = ("v1", "id1")


def _cell(case_id: str, label: str | None, passed: bool, *, repeat: int = 0, status: str = "ok") -> CellResult:
    return CellResult(
        run_id="r", version_id=V[1], version_name=V[0], case_id=case_id, repeat=repeat, output_id=None,
        status=status, score=float(passed), passed=passed, predicted_label=label,
    )  # fmt: skip


def test_ten_pairs_three_flips() -> None:
    # Originals o0..o9 all answer "approve" and pass; perturbed p3, p5, p8 answer "reject" and fail.
    cells, pairs = [], []
    for i in range(10):
        cells.append(_cell(f"o{i}", "approve", True))
        flipped = i in (3, 5, 8)
        cells.append(_cell(f"o{i}~typo", "reject" if flipped else "approve", not flipped))
        pairs.append(Pair(f"o{i}~typo", f"o{i}", "typo"))
    cases = [Case(id="o3", vars={"t": "가격"}), Case(id="o3~typo", vars={"t": "갸격"})]
    report = flip_report("r", 7, pairs, [V], cells, cases)
    (rate,) = report.rates
    assert (rate.pairs, rate.flips, rate.broke, rate.fixed) == (10, 3, 3, 0)
    assert rate.rate == pytest.approx(0.3)
    assert (rate.low, rate.high) == pytest.approx(wilson_interval(3, 10))
    assert [f.original_id for f in report.flipped] == ["o3", "o5", "o8"]
    first = report.flipped[0]
    assert (first.original, first.perturbed, first.direction) == ("approve", "reject", "broke")
    assert first.changes == {"t": ("가격", "갸격")}


def test_pass_and_fail_decide_when_there_is_no_label() -> None:
    cells = [_cell("a", None, False), _cell("a~s", None, True), _cell("b", None, True), _cell("b~s", None, True)]
    report = flip_report("r", 0, [Pair("a~s", "a", "s"), Pair("b~s", "b", "s")], [V], cells)
    (rate,) = report.rates
    assert (rate.pairs, rate.flips, rate.fixed) == (2, 1, 1)
    assert report.flipped[0].original == "fail" and report.flipped[0].perturbed == "pass"


def test_another_label_with_the_same_pass_is_a_flip() -> None:
    cells = [_cell("a", "reject_phone", False), _cell("a~s", "reject_url", False)]
    report = flip_report("r", 0, [Pair("a~s", "a", "s")], [V], cells)
    assert report.rates[0].flips == 1 and report.flipped[0].direction == "changed"


def test_failed_cells_are_not_compared() -> None:
    cells = [_cell("a", "x", True), _cell("a~s", None, False, status="error"), _cell("b", "x", True)]
    report = flip_report("r", 0, [Pair("a~s", "a", "s"), Pair("b~s", "b", "s")], [V], cells)
    (rate,) = report.rates
    assert (rate.pairs, rate.flips, rate.not_compared) == (0, 0, 2)
    assert (rate.low, rate.high) == (0.0, 1.0)


def test_repeats_answer_with_their_commonest_label() -> None:
    cells = [
        _cell("a", "approve", True, repeat=0), _cell("a", "approve", True, repeat=1),
        _cell("a", "reject", False, repeat=2),
        _cell("a~s", "approve", True, repeat=0), _cell("a~s", "reject", False, repeat=1),
        _cell("a~s", "reject", False, repeat=2),
    ]  # fmt: skip
    report = flip_report("r", 0, [Pair("a~s", "a", "s")], [V], cells)
    assert report.rates[0].flips == 1 and report.flipped[0].perturbed == "reject"


def test_the_any_row_counts_originals_that_flipped_under_one_perturbation_at_least() -> None:
    cells = [_cell("a", "x", True), _cell("b", "x", True), _cell("a~s", "y", False), _cell("a~t", "y", False),
             _cell("b~s", "x", True), _cell("b~t", "x", True)]  # fmt: skip
    pairs = [Pair("a~s", "a", "s"), Pair("a~t", "a", "t"), Pair("b~s", "b", "s"), Pair("b~t", "b", "t")]
    report = flip_report("r", 0, pairs, [V], cells)
    assert [(r.perturbation, r.pairs, r.flips) for r in report.rates] == [("s", 2, 1), ("t", 2, 1), (ANY, 2, 1)]
