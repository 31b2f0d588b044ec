"""A grader that cannot grade is an error of its cell, never a zero score; judges are trusted only when measured.

Issue 16 items 4 and 5: a wrong judge name or an unparsable judge reply counted as score 0 with a 0 % error
rate; a judge with kappa 0.00 on one labelled case was "trusted"; a criterion over zero successful calls passed.
"""

from __future__ import annotations

from typing import Any

import pytest

from andon.config.schema import FeatureConfig, GraderSpec
from andon.embeddings import Embedder, default_embedder
from andon.evals.graders import GraderContext, JudgeReply, build_grader, grade_case, run_grader
from andon.evals.model import Case, CellResult, Grade
from andon.evals.summarize import MIN_LABELLED_CASES, Conversion, summarize_version

USD = Conversion("USD", {})
CASE = Case(id="c1", vars={"menu": "김치찌개"}, expected="approve", label="approve")


class Replies:
    """Judge services that answer every call with one fixed reply."""

    def __init__(self, text: str, parsed: Any = None) -> None:
        self.reply = JudgeReply(parsed, text, "out_judge")

    def embedder(self) -> Embedder:
        return default_embedder()

    async def judge(
        self, judge: str, model: str | None, system: str, prompt: str, schema: dict[str, Any]
    ) -> JudgeReply:
        return self.reply


class Broken:
    async def grade(self, ctx: GraderContext) -> Grade:
        raise KeyError("gpt4")


def rubric_spec(**extra: Any) -> GraderSpec:
    return GraderSpec(type="llm-rubric", name="polite", judge="remote", rubric="polite?", **extra)


async def test_a_crashing_grader_is_an_error_not_a_zero_score() -> None:
    spec = GraderSpec(type="broken", name="broken")
    grade = await run_grader(spec, Broken(), GraderContext(CASE, "approve"))
    assert grade.error and not grade.passed
    assert grade.reason == "the grader crashed: KeyError: 'gpt4'"
    # Beside a grader that worked, the case's score is that grader's, not dragged to 0.5 by a fake zero.
    equals = GraderSpec(type="equals")
    score, passed, grades = await grade_case(
        [(equals, build_grader(equals)), (spec, Broken())], GraderContext(CASE, "approve"), 1.0
    )
    assert score == 1.0 and not passed  # cannot pass while one grader could not grade
    assert [g.error for g in grades] == [False, True]


@pytest.mark.parametrize(
    "reply", ["I think this is a 9 out of 10!", '{"reason": "no score"}', '{"reason": "x", "score": 42}']
)
async def test_an_unparsable_judge_reply_is_an_error(reply: str) -> None:
    spec = rubric_spec()
    grade = await run_grader(spec, build_grader(spec), GraderContext(CASE, "맛있는 김치찌개", services=Replies(reply)))
    assert grade.error and not grade.passed and grade.judge_output_id == "out_judge"
    negated = GraderSpec(type="not-llm-rubric", name="polite", judge="remote", rubric="polite?")
    flipped = await run_grader(negated, build_grader(negated), GraderContext(CASE, "x", services=Replies(reply)))
    assert flipped.error and not flipped.passed  # negation cannot turn a broken verdict into a pass


async def test_an_output_that_lacks_the_field_is_a_fail_not_a_grader_error() -> None:
    spec = GraderSpec(type="label", path="decision")
    grade = await run_grader(spec, build_grader(spec), GraderContext(CASE, "not json"))
    assert not grade.passed and not grade.error  # the model's fault: an honest fail


def cell(case: str, *, passed: bool = True, status: str = "ok", grades: list[Grade] | None = None,
         latency: float = 100.0) -> CellResult:  # fmt: skip
    return CellResult(
        run_id="run", version_id="v", version_name="v", case_id=case, repeat=0, output_id=None, status=status,
        score=1.0 if passed else 0.0, passed=passed, grades=grades or [], latency_ms=latency, cost=0.0,
        currency="USD", error="provider 'stub': 'nope' is undefined" if status == "error" else None,
    )  # fmt: skip


def test_grader_errors_have_their_own_rate_leave_the_pass_rate_and_fail_the_gate() -> None:
    ok = Grade("label", 1.0, True)
    crashed = Grade("polite", 0.0, False, reason="the grader crashed: KeyError: 'gpt4'", error=True)
    cells = [cell(f"c{i}", passed=i < 6, grades=[ok if i < 6 else Grade("label", 0.0, False)]) for i in range(8)]
    cells += [cell(f"e{i}", passed=False, grades=[ok, crashed]) for i in range(2)]
    config = FeatureConfig(graders=[GraderSpec(type="label"), rubric_spec()], criteria=["pass_rate >= 0.5"])
    summary = summarize_version("v", "v", cells, {}, config, USD)
    assert summary.metrics["grader_error_rate"].value == pytest.approx(0.2)
    assert summary.metrics["error_rate"].value == 0.0  # the calls themselves succeeded
    assert summary.metrics["pass_rate"].value == pytest.approx(6 / 8) and summary.metrics["pass_rate"].n == 8
    assert summary.criteria[0].passed and not summary.gate_passed
    assert any("KeyError: 'gpt4'" in reason for reason in summary.gate_errors)
    assert summary.first_errors[0].message == "the grader crashed: KeyError: 'gpt4'"
    assert summary.first_errors[0].count == 2 and summary.first_errors[0].kind == "grader"
    # A criterion on the rate replaces the default refusal.
    tolerant = FeatureConfig(graders=config.graders, criteria=["pass_rate >= 0.5", "grader_error_rate <= 0.25"])
    assert summarize_version("v", "v", cells, {}, tolerant, USD).gate_passed


def judged_cells(judge: list[bool]) -> list[CellResult]:
    return [cell(f"c{i}", grades=[Grade("polite", float(j), j)]) for i, j in enumerate(judge)]


def human_cases(labels: list[bool]) -> dict[str, Case]:
    return {f"c{i}": Case(f"c{i}", {}, human={"polite": "pass" if h else "fail"}) for i, h in enumerate(labels)}


def test_a_judge_on_one_labelled_case_is_not_measured_even_without_min_kappa() -> None:
    config = FeatureConfig(graders=[rubric_spec()])
    summary = summarize_version("v", "v", judged_cells([True]), human_cases([False]), config, USD)
    judge = summary.judges[0]
    assert judge.n == 1 and judge.status == "not_measured" and not judge.trusted


def test_a_judge_is_trusted_only_when_the_lower_bound_of_kappa_clears_the_bar() -> None:
    n = 2 * MIN_LABELLED_CASES
    humans = [i % 2 == 0 for i in range(n)]
    config = FeatureConfig(graders=[rubric_spec(min_kappa=0.6)], criteria=["pass_rate >= 0"])
    perfect = summarize_version("v", "v", judged_cells(humans), human_cases(humans), config, USD)
    assert perfect.judges[0].status == "trusted" and perfect.judges[0].kappa == 1.0 and perfect.gate_passed
    # 85 % agreement on balanced labels: kappa 0.7 clears 0.6 on the estimate, but not on its lower bound.
    noisy = [h if i % 20 not in (1, 8, 15) else not h for i, h in enumerate(humans)]
    summary = summarize_version("v", "v", judged_cells(noisy), human_cases(humans), config, USD)
    judge = summary.judges[0]
    assert judge.kappa is not None and judge.kappa > 0.6
    assert judge.kappa_low is not None and judge.kappa_low < 0.6
    assert judge.status == "untrusted" and not summary.gate_passed
    few = summarize_version("v", "v", judged_cells(humans[:4]), human_cases(humans[:4]), config, USD)
    assert few.judges[0].status == "not_measured" and not few.gate_passed  # min_kappa set: the gate refuses


def test_a_criterion_over_zero_successful_calls_is_no_data_never_a_pass() -> None:
    cells = [cell(f"c{i}", passed=False, status="error", latency=0.0) for i in range(3)]
    config = FeatureConfig(criteria=["p95_latency_ms <= 8000", "cost_per_1k <= 5 USD", "error_rate <= 1.0"])
    summary = summarize_version("v", "v", cells, {}, config, USD)
    latency, cost, errors = summary.criteria
    assert not latency.passed and latency.value is None and "no data" in (latency.note or "")
    assert not cost.passed and "no data" in (cost.note or "")
    assert errors.passed  # the error rate is measured over every call
    assert not summary.gate_passed
    assert summary.first_errors[0].kind == "call" and summary.first_errors[0].count == 3
    assert "'nope' is undefined" in summary.first_errors[0].message
