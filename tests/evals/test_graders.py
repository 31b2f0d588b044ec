"""Graders: every built-in, negation, weights and the case verdict, plugins, and property tests."""

from __future__ import annotations

import itertools
import json
import math
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from andon.config.schema import GRADER_TYPES, GraderSpec
from andon.errors import ConfigError
from andon.evals.graders import (
    GraderContext,
    Negated,
    build_grader,
    build_graders,
    case_verdict,
    grade_case,
    known_types,
    run_grader,
)
from andon.evals.graders.registry import BUILTINS
from andon.evals.graders.structured import parse_number
from andon.evals.graders.text import values_equal
from andon.evals.model import Case, Grade

CASE = Case(
    id="c1",
    vars={"menu_name": "김치찌개", "price": 9000},
    expected={"decision": "approve", "price": 12000, "items": [{"name": "밥"}, {"name": "국"}]},
    label="approve",
)
_modules = itertools.count()


def ctx(text: str | None = None, parsed: Any = None, *, case: Case = CASE, **kw: Any) -> GraderContext:
    return GraderContext(case=case, output_text=text, output_json=parsed, **kw)


async def grade(text: str | None, case: Case = CASE, parsed: Any = None, **spec: Any) -> Grade:
    gs = GraderSpec(**spec)
    return await run_grader(gs, build_grader(gs), ctx(text, parsed, case=case))


def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> str:
    """Write a uniquely named module on the path and return its name."""
    name = f"andon_test_grader_{next(_modules)}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


# --- the registry -------------------------------------------------------------------------------------------


def test_every_configurable_type_has_a_builtin() -> None:
    assert set(BUILTINS) == set(GRADER_TYPES)
    assert set(GRADER_TYPES) <= set(known_types())


def test_unknown_type_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        build_grader(GraderSpec(type="not-sparkles"), where="features.menu.graders[2]")
    assert "sparkles" in info.value.message and "contains-any" in info.value.message
    assert info.value.where == "features.menu.graders[2].type"


def test_build_graders_pairs_specs_and_names_positions() -> None:
    specs = [GraderSpec(type="contains", value="a"), GraderSpec(type="regex", value="(")]
    with pytest.raises(ConfigError) as info:
        build_graders(specs, where="features.menu.graders")
    assert info.value.where == "features.menu.graders[1].value"
    pairs = build_graders(specs[:1])
    assert pairs[0][0] is specs[0]


# --- equals and json-field ----------------------------------------------------------------------------------


async def test_equals_strips_and_compares_text() -> None:
    assert (await grade("  approve\n", type="equals", value="approve")).passed
    failed = await grade("reject", type="equals", value="approve")
    assert not failed.passed and failed.score == 0.0
    assert failed.reason == "'reject' is not 'approve'"


async def test_equals_is_json_aware() -> None:
    assert (await grade('{"b": [1, 2], "a": 1}', type="equals", value={"a": 1, "b": [1, 2.0]})).passed
    assert (await grade('{"a":1}', type="equals", value='{ "a" : 1 }')).passed
    assert (await grade("42", type="equals", value=42)).passed
    # JSON true is not the number 1, and key order aside, values must match.
    assert not (await grade("true", type="equals", value=1)).passed
    assert not (await grade('{"a": 1}', type="equals", value={"a": 2})).passed
    assert not (await grade("not json", type="equals", value={"a": 1})).passed


def test_values_equal_keeps_strings_that_json_would_mangle() -> None:
    assert values_equal("007", "007")
    assert not values_equal("007", "7 ")  # different text, though JSON reads 007 as invalid and 7 as 7


async def test_equals_defaults_to_the_case_expected_at_the_same_path() -> None:
    output = '{"decision": "approve", "price": 12000}'
    assert (await grade(output, type="json-field", path="decision")).passed
    assert (await grade(output, type="equals", path="price")).passed
    assert not (await grade('{"decision": "reject"}', type="json-field", path="decision")).passed


async def test_value_templates_render_over_the_case() -> None:
    output = '{"decision": "approve", "menu": "김치찌개", "price": 12000}'
    assert (await grade(output, type="json-field", path="decision", value="{{ expected.decision }}")).passed
    assert (await grade(output, type="json-field", path="menu", value="{{ vars.menu_name }}")).passed
    assert (await grade(output, type="json-field", path="menu", value="{{ menu_name }}")).passed
    assert (await grade(output, type="json-field", path="decision", value="{{ label }}")).passed
    # A rendered number compares with a JSON number.
    assert (await grade(output, type="json-field", path="price", value="{{ expected.price }}")).passed


async def test_a_broken_template_fails_with_its_reason() -> None:
    result = await grade("x", type="contains", value="{{ vars.nope }}")
    assert not result.passed
    assert result.reason is not None and "cannot render" in result.reason and "nope" in result.reason


async def test_dot_paths_index_lists_and_missing_paths_are_named() -> None:
    output = json.dumps({"items": [{"name": "밥"}, {"name": "국"}]}, ensure_ascii=False)
    assert (await grade(output, type="json-field", path="items.1.name", value="국")).passed
    assert (await grade(output, type="json-field", path="items.-1.name", value="국")).passed
    missing = await grade(output, type="json-field", path="items.5.name", value="국")
    assert not missing.passed and missing.reason is not None and "'items.5'" in missing.reason
    wrong = await grade(output, type="json-field", path="items.first", value="국")
    assert wrong.reason is not None and "not an index" in wrong.reason
    text = await grade("plain text", type="json-field", path="decision", value="approve")
    assert text.reason is not None and "not JSON" in text.reason and "'decision'" in text.reason


async def test_json_field_reads_parsed_output_before_text() -> None:
    assert (await grade(None, parsed={"decision": "approve"}, type="json-field", path="decision")).passed


def test_json_field_needs_a_path_and_paths_need_segments() -> None:
    with pytest.raises(ConfigError, match="needs `path:`"):
        build_grader(GraderSpec(type="json-field", value="x"))
    with pytest.raises(ConfigError, match="empty segment"):
        build_grader(GraderSpec(type="json-field", path="items..name", value="x"))


# --- contains family and regex ------------------------------------------------------------------------------


async def test_contains_and_icontains() -> None:
    assert (await grade("오늘의 메뉴: 김치찌개", type="contains", value="{{ menu_name }}")).passed
    assert not (await grade("Kimchi Stew", type="contains", value="kimchi")).passed
    assert (await grade("Kimchi Stew", type="icontains", value="KIMCHI")).passed
    assert (await grade("STRASSE", type="icontains", value="straße")).passed  # Unicode case folding
    negated = await grade("Kimchi Stew", type="not-icontains", value="kimchi")
    assert not negated.passed and negated.score == 0.0
    assert negated.reason == "not: 'kimchi' found in the output"


async def test_contains_any_and_all_with_partial_score() -> None:
    assert (await grade("전화 주세요", type="contains-any", value=["전화", "카톡"])).passed
    assert not (await grade("맛있어요", type="contains-any", value=["전화", "카톡"])).passed
    partial = await grade("밥 국", type="contains-all", value=["밥", "국", "김치"])
    assert not partial.passed and math.isclose(partial.score, 2 / 3)
    assert partial.reason == "missing '김치'"
    assert (await grade("밥 국 김치", type="contains-all", value=["밥", "국", "김치"])).passed
    assert (await grade("RICE", type="contains-all", value=["rice"], options={"ignore_case": True})).passed


async def test_contains_all_reads_a_list_from_the_case() -> None:
    case = Case(id="l", vars={}, expected=["밥", "국"])
    assert (await grade("국과 밥", case=case, type="contains-all")).passed


def test_empty_lists_are_refused_at_config_time() -> None:
    with pytest.raises(ConfigError, match="at least one item"):
        build_grader(GraderSpec(type="contains-all", value=[]))


async def test_regex_searches_and_bad_patterns_fail_at_config_time() -> None:
    phone = r"0\d{1,2}-\d{3,4}-\d{4}"
    hit = await grade("문의: 010-1234-5678 로 연락", type="regex", value=phone)
    assert hit.passed and hit.reason == "matched '010-1234-5678'"
    assert (await grade("연락처 없음", type="not-regex", value=phone)).passed
    assert (await grade("APPROVE", type="regex", value="^approve$", options={"ignore_case": True})).passed
    with pytest.raises(ConfigError) as info:
        build_grader(GraderSpec(type="regex", value="(unclosed"), where="g")
    assert info.value.where == "g.value"


async def test_regex_templates_render_per_case() -> None:
    assert (await grade("김치찌개 9000원", type="regex", value=r"{{ menu_name }}\s+{{ price }}원")).passed


# --- structured ---------------------------------------------------------------------------------------------


SCHEMA = {
    "type": "object",
    "properties": {"decision": {"enum": ["approve", "reject"]}, "items": {"type": "array"}},
    "required": ["decision"],
}


async def test_is_json_and_its_negation() -> None:
    assert (await grade('{"a": [1, 2]}', type="is-json")).passed
    assert not (await grade("```json\n{}\n```", type="is-json")).passed  # strict: no fences
    assert (await grade("그냥 텍스트", type="not-is-json")).passed


async def test_json_schema_reports_the_failing_path() -> None:
    assert (await grade('{"decision": "approve"}', type="json-schema", value=SCHEMA)).passed
    bad = await grade('{"decision": "maybe", "items": []}', type="json-schema", value=SCHEMA)
    assert not bad.passed and bad.reason is not None and bad.reason.startswith("at decision:")
    assert (
        await grade("{}", type="json-schema", value=SCHEMA)
    ).reason == "at (root): 'decision' is a required property"
    assert (await grade("nope", type="json-schema", value=SCHEMA)).reason == "the output is not valid JSON"
    assert (await grade('{"x": [{"y": 1}]}', type="json-schema", path="x.0", value={"required": ["y"]})).passed


def test_json_schema_needs_a_valid_schema() -> None:
    with pytest.raises(ConfigError, match="needs the schema"):
        build_grader(GraderSpec(type="json-schema"))
    with pytest.raises(ConfigError, match="schema is invalid"):
        build_grader(GraderSpec(type="json-schema", value={"type": "sparkly"}))


async def test_numeric_within_tolerance() -> None:
    assert (await grade('{"price": 12050}', type="numeric", path="price", tolerance=100)).passed
    assert not (await grade('{"price": 12150}', type="numeric", path="price", tolerance=100)).passed
    assert (await grade("12,000", type="numeric", value=12000)).passed
    assert (await grade("0.30000000000000004", type="numeric", value=0.3)).passed
    strict = await grade("12,000원", type="numeric", value=12000)
    assert not strict.passed and strict.reason == "the output '12,000원' is not a number"
    # A non-number is ungradable, so the negation fails too rather than passing on garbage.
    assert not (await grade("about twelve", type="not-numeric", value=12)).passed


@pytest.mark.parametrize(
    ("raw", "number"),
    [(3, 3.0), ("1,234.5", 1234.5), (" -2 ", -2.0), (True, None), ("nan", None), ("12원", None), (None, None)],
)
def test_parse_number_is_strict(raw: Any, number: float | None) -> None:
    assert parse_number(raw) == number


def test_is_json_takes_no_path() -> None:
    with pytest.raises(ConfigError, match="takes no"):
        build_grader(GraderSpec(type="is-json", path="a"))


# --- label --------------------------------------------------------------------------------------------------


async def test_label_reads_the_output_and_carries_the_prediction() -> None:
    result = await grade("  Approve \n", type="label")
    assert result.passed and result.predicted == "approve" and result.expected == "approve"
    wrong = await grade('{"decision": "REJECT"}', type="label", path="decision")
    assert not wrong.passed and wrong.predicted == "REJECT" and wrong.expected == "approve"


async def test_label_canonical_spelling_and_expected_at_path() -> None:
    labels = {"labels": ["approve", "reject"]}
    wrong = await grade('{"decision": "REJECT"}', type="label", path="decision", options=labels)
    assert wrong.predicted == "reject"
    case = Case(id="x", vars={}, expected={"decision": "reject"})
    assert (await grade('{"decision": "reject"}', case=case, type="label", path="decision")).passed
    assert (await grade("보류", case=case, type="label", value="보류")).passed


async def test_label_missing_field_keeps_the_expected_label() -> None:
    result = await grade('{"other": 1}', type="label", path="decision")
    assert not result.passed and result.expected == "approve" and result.predicted is None


# --- python -------------------------------------------------------------------------------------------------


async def test_python_grader_return_shapes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = module(
        tmp_path,
        monkeypatch,
        """
        from andon.evals.model import Grade

        def short(output, case):
            return len(output) <= 5

        def ratio(output, case):
            return output["hits"] / 10

        def verdict(output, case):
            return {"score": 0.25, "passed": True, "reason": f"menu {case.vars['menu_name']}"}

        def as_grade(output, case):
            return Grade(grader="mine", score=0.5, passed=False, reason="halfway", predicted="x")

        async def asynchronous(output, case):
            return output == "ok"

        def boom(output, case):
            raise RuntimeError("kaput")

        def odd(output, case):
            return "yes"

        def too_big(output, case):
            return 1.5
        """,
    )
    assert (await grade("short", type="python", function=f"{name}:short")).passed
    assert not (await grade("too long", type="python", function=f"{name}:short")).passed
    partial = await grade('{"hits": 7}', type="python", function=f"{name}:ratio")
    assert math.isclose(partial.score, 0.7) and not partial.passed  # default threshold 1.0
    assert (await grade('{"hits": 7}', type="python", function=f"{name}:ratio", threshold=0.7)).passed
    told = await grade("x", type="python", function=f"{name}:verdict")
    assert told.passed and told.score == 0.25 and told.reason == "menu 김치찌개"
    graded = await grade("x", type="python", function=f"{name}:as_grade", weight=2)
    assert (graded.grader, graded.score, graded.weight, graded.predicted) == ("python", 0.5, 2.0, "x")
    assert (await grade("ok", type="python", function=f"{name}:asynchronous")).passed
    crashed = await grade("x", type="python", function=f"{name}:boom")
    assert not crashed.passed and crashed.reason == f"{name}:boom raised RuntimeError: kaput"
    assert "returned str" in ((await grade("x", type="python", function=f"{name}:odd")).reason or "")
    assert "[0, 1]" in ((await grade("x", type="python", function=f"{name}:too_big")).reason or "")
    # A crashing function fails the negation too.
    assert not (await grade("x", type="not-python", function=f"{name}:boom")).passed


async def test_python_grader_sees_text_or_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = module(
        tmp_path, monkeypatch, "def kind(output, case):\n    return {'passed': True, 'reason': type(output).__name__}\n"
    )
    assert (await grade('{"a": 1}', type="python", function=f"{name}:kind")).reason == "dict"
    assert (await grade("42", type="python", function=f"{name}:kind")).reason == "str"
    assert (await grade(None, parsed=42, type="python", function=f"{name}:kind")).reason == "int"
    assert (await grade('{"a": 1}', type="python", function=f"{name}:kind", path="a")).reason == "int"


def test_python_grader_bad_function_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = module(tmp_path, monkeypatch, "X = 1\n")
    with pytest.raises(ConfigError, match="no attribute"):
        build_grader(GraderSpec(type="python", function=f"{name}:missing"))
    with pytest.raises(ConfigError, match="cannot import"):
        build_grader(GraderSpec(type="python", function="andon_no_such_module:f"))


# --- errors, negation, weights ------------------------------------------------------------------------------


async def test_an_error_output_fails_every_grader_even_negated() -> None:
    specs = [
        GraderSpec(type="contains", value="x"),
        GraderSpec(type="not-contains", value="x"),
        GraderSpec(type="not-is-json"),
        GraderSpec(type="label"),
    ]
    failed = ctx(None, status="error", error="provider 'local': timed out")
    score, passed, grades = await grade_case(build_graders(specs), failed, pass_threshold=0.0)
    assert (score, passed) == (0.0, False)
    assert all(not g.passed and g.score == 0.0 for g in grades)
    assert {g.reason for g in grades} == {"provider 'local': timed out"}


async def test_negation_keeps_the_verdict_details() -> None:
    spec = GraderSpec(type="not-label")
    result = await run_grader(spec, build_grader(spec), ctx("reject"))
    assert result.passed and result.predicted == "reject" and result.grader == "not-label"
    assert result.reason == "not: predicted 'reject', expected 'approve'"


async def test_weighted_score_and_threshold() -> None:
    specs = [
        GraderSpec(type="contains", value="밥", weight=3),
        GraderSpec(type="contains", value="국", weight=1),
        GraderSpec(type="contains", value="김치", weight=0),  # informational
    ]
    graders = build_graders(specs)
    score, passed, grades = await grade_case(graders, ctx("밥만 있어요"), pass_threshold=0.75)
    assert score == 0.75 and passed
    assert [g.weight for g in grades] == [3.0, 1.0, 0.0]
    score, passed, _ = await grade_case(graders, ctx("밥만 있어요"), pass_threshold=0.8)
    assert score == 0.75 and not passed
    # The informational grader's fail does not stop a case whose weighted graders all pass.
    score, passed, grades = await grade_case(graders, ctx("밥과 국"), pass_threshold=1.0)
    assert (score, passed) == (1.0, True) and not grades[2].passed


def test_case_verdict_rules() -> None:
    def g(score: float, passed: bool, weight: float = 1.0) -> Grade:
        return Grade("g", score, passed, weight)

    # A continuous grader over its own threshold passes a case held to 1.0 …
    assert case_verdict([g(0.8, True), g(1.0, True)], 1.0) == (0.9, True)
    # … but not when another grader failed.
    assert case_verdict([g(0.8, True), g(0.0, False)], 1.0) == (0.4, False)
    # No weighted grader: the output's status decides.
    assert case_verdict([g(0.0, False, 0.0)], 1.0) == (1.0, True)
    assert case_verdict([], 1.0, ok=False) == (0.0, False)
    # An error output never passes, even at threshold 0.
    assert case_verdict([g(0.0, False)], 0.0, ok=False) == (0.0, False)


async def test_a_crashing_plugin_grader_fails_instead_of_raising() -> None:
    class Broken:
        async def grade(self, ctx: GraderContext) -> Grade:
            raise ZeroDivisionError("oops")

    class Liar:
        async def grade(self, ctx: GraderContext) -> Any:
            return "passed!"

    spec = GraderSpec(type="broken")
    crashed = await run_grader(spec, Broken(), ctx("x"))
    assert not crashed.passed and crashed.reason == "the grader crashed: ZeroDivisionError: oops"
    lied = await run_grader(spec, Liar(), ctx("x"))
    assert not lied.passed and "not a Grade" in (lied.reason or "")


# --- plugins through the entry point ------------------------------------------------------------------------


def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real installed distribution (dist-info on sys.path) registering a grader, and one shadowing a built-in."""
    name = module(
        tmp_path,
        monkeypatch,
        """
        from andon.evals.model import Grade

        class Shouty:
            def __init__(self, spec):
                self.spec = spec

            async def grade(self, ctx):
                loud = (ctx.output_text or "").isupper()
                return Grade(self.spec.label, 1.0 if loud else 0.0, loud, reason=str(self.spec.options))
        """,
    )
    dist = tmp_path / "andon_shouty-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: andon-shouty\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        f"[andon.graders]\nshouty = {name}:Shouty\ncontains = {name}:Shouty\n", encoding="utf-8"
    )


def test_plugin_graders_load_from_the_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path, monkeypatch)
    assert "shouty" in known_types()
    spec = GraderSpec(type="not-shouty", options={"level": 3})
    grader = build_grader(spec)
    assert isinstance(grader, Negated)
    # A plugin cannot take over a built-in name.
    assert type(build_grader(GraderSpec(type="contains", value="x"))).__name__ == "Contains"


async def test_plugin_grader_grades(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path, monkeypatch)
    spec = GraderSpec(type="shouty", options={"level": 3})
    result = await run_grader(spec, build_grader(spec), ctx("HELLO"))
    assert result.passed and result.reason == "{'level': 3}"
    negated = GraderSpec(type="not-shouty")
    assert (await run_grader(negated, build_grader(negated), ctx("quiet"))).passed


# --- properties ---------------------------------------------------------------------------------------------

texts = st.text(alphabet=st.sampled_from("ab가나 .\n"), max_size=12)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(output=texts, needle=texts, kind=st.sampled_from(["contains", "icontains", "equals", "regex"]))
async def test_negation_is_an_involution_on_score(output: str, needle: str, kind: str) -> None:
    spec = GraderSpec(type=kind, value=re.escape(needle) if kind == "regex" else needle)
    inner = build_grader(spec)
    plain = await inner.grade(ctx(output))
    once = await Negated(inner).grade(ctx(output))
    twice = await Negated(Negated(inner)).grade(ctx(output))
    assert math.isclose(once.score, 1 - plain.score) and once.passed is not plain.passed
    assert math.isclose(twice.score, plain.score, abs_tol=1e-12) and twice.passed is plain.passed


@given(
    st.lists(st.tuples(st.floats(0, 1), st.booleans(), st.floats(0, 10)), min_size=1, max_size=8).filter(
        lambda xs: sum(w for *_, w in xs) > 0
    ),
    st.floats(0, 1),
)
def test_weighted_score_lies_between_the_weighted_grades(
    items: list[tuple[float, bool, float]], threshold: float
) -> None:
    grades = [Grade("g", s, p, w) for s, p, w in items]
    score, passed = case_verdict(grades, threshold)
    weighted = [g.score for g in grades if g.weight > 0]
    assert min(weighted) - 1e-9 <= score <= max(weighted) + 1e-9
    if score >= threshold:
        assert passed


@settings(max_examples=80)
@given(output=texts, needles=st.lists(texts, min_size=1, max_size=4))
async def test_contains_all_implies_contains_any(output: str, needles: list[str]) -> None:
    every = await grade(output, type="contains-all", value=needles)
    some = await grade(output, type="contains-any", value=needles)
    if every.passed:
        assert some.passed
    assert every.passed == all(n in output for n in needles)


@settings(max_examples=80)
@given(
    output=st.text(alphabet=st.sampled_from("ab1 -"), max_size=10),
    pattern=st.text(alphabet=st.sampled_from("ab1.*+?|^$[]()-"), max_size=6),
)
async def test_regex_agrees_with_python_re(output: str, pattern: str) -> None:
    try:
        compiled = re.compile(pattern)
    except re.error:
        with pytest.raises(ConfigError):
            build_grader(GraderSpec(type="regex", value=pattern))
        return
    result = await grade(output, type="regex", value=pattern)
    assert result.passed is (compiled.search(output) is not None)
