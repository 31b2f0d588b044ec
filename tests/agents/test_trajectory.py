"""Trajectories read from provenance steps, and the trajectory graders against hand-written trajectories."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.agents.trajectory import (
    LIMITS,
    ApprovalEvent,
    ClarifyEvent,
    HandoffEvent,
    LimitEvent,
    ToolEvent,
    TurnEvent,
    trajectory_of,
)
from andon.config.graders import GraderSpec
from andon.config.loader import load_config
from andon.config.problems import InvalidConfig, Problem
from andon.errors import ConfigError
from andon.evals.graders import GraderContext, build_grader, run_grader
from andon.evals.model import Case, Grade


def tool(name: str, arguments: Any, *, error: str | None = None, **extra: Any) -> dict[str, Any]:
    """A tool-log entry as engine/tools.py writes it (arguments as JSON text)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"call_id": f"c-{name}", "name": name, "arguments": text, "result": "{}", "error": error, **extra}


# A plain one-agent version as the engine records it: a guard (rule only), a model step with its tool log.
PLAIN = [
    {"name": "guard", "provider": "guard", "model": "", "attempts": 0},
    {
        "name": "main",
        "provider": "stub",
        "model": "stub-model",
        "cost": 0.5,
        "tools": [tool("lookup_order", {"order_id": "A1"}), tool("lookup_order", '{"order_id": ')],
    },
]

# A flow (the contract of agents/flow): triage hands off to refund; the refund tool needs a person's approval.
FLOW = [
    {
        "name": "triage",
        "provider": "stub",
        "model": "m",
        "agent": "triage",
        "handoff": {"from": "triage", "to": "refund", "reason": "asks for money back"},
    },
    {
        "name": "refund",
        "provider": "stub",
        "model": "m",
        "agent": "refund",
        "tools": [
            tool("lookup_order", {"order_id": 1234}),
            tool(
                "refund",
                {"order_id": 1234, "amount": 15000},
                approval={"status": "edited", "by": "kim", "arguments_asked": {"order_id": 1234, "amount": 51000}},
            ),
        ],
    },
    {"name": "refund", "provider": "stub", "model": "m", "agent": "refund", "output_kind": "answer"},
]

CLARIFY = [{"name": "triage", "provider": "stub", "model": "m", "agent": "triage", "output_kind": "clarify"}]
LIMITED = [
    {"name": "a", "provider": "stub", "model": "m", "agent": "a", "handoff": {"to": "b"}},
    {"name": "b", "provider": "stub", "model": "m", "agent": "b", "limit": "max_turns"},
]


def test_a_plain_tool_using_version_has_its_model_turn_and_calls() -> None:
    path = trajectory_of(PLAIN)
    assert [e.kind for e in path.events] == ["turn", "tool", "tool"]  # the rule-only guard is no turn
    turn, first, broken = path.events
    assert isinstance(turn, TurnEvent) and turn.step == "main" and turn.agent is None and turn.cost == 0.5
    assert isinstance(first, ToolEvent) and first.arguments == {"order_id": "A1"}
    assert isinstance(broken, ToolEvent) and broken.arguments is None and broken.arguments_text == '{"order_id": '
    assert path.turns == 1 and path.output_kind == "answer" and path.limit is None and path.agentic
    assert path.figures() == {"turns": 1.0, "tool_calls": 2.0, "handoffs": 0.0, "clarified": 0.0, "limit": 0.0}


def test_a_guard_that_asked_its_model_is_a_turn_and_a_lone_answer_is_not_agentic() -> None:
    path = trajectory_of([{"name": "g", "provider": "guard", "attempts": 1}])
    assert path.turns == 1 and not path.agentic
    assert trajectory_of(None).events == () and trajectory_of([]).turns == 0


def test_a_flow_reads_agents_handoffs_and_approvals_in_order() -> None:
    path = trajectory_of(FLOW)
    kinds = [e.kind for e in path.events]
    assert kinds == ["turn", "handoff", "turn", "tool", "approval", "tool", "turn"]
    handoff = path.events[1]
    assert handoff == HandoffEvent("triage", "refund", "asks for money back")
    approval = path.events[4]
    assert isinstance(approval, ApprovalEvent) and approval.status == "edited" and approval.by == "kim"
    assert approval.arguments_asked == {"order_id": 1234, "amount": 51000}
    refund = path.events[5]
    assert isinstance(refund, ToolEvent) and refund.approval == "edited" and refund.agent == "refund"
    assert path.agents == ["triage", "refund"] and path.turns == 3 and [h.target for h in path.handoffs] == ["refund"]


def test_a_clarifying_question_and_a_limit_end_the_trajectory() -> None:
    asked = trajectory_of(CLARIFY)
    assert asked.clarified and asked.events[-1] == ClarifyEvent("triage") and asked.agentic
    limited = trajectory_of(LIMITED)
    assert limited.limit == "max_turns" and limited.events[-1] == LimitEvent("max_turns")
    assert limited.handoffs[0].source == "a"  # a handoff without "from" comes from the agent of its step


# --- graders ------------------------------------------------------------------------------------------------


def grade(spec: dict[str, Any], steps: list[dict[str, Any]] | None, case: Case | None = None) -> Grade:
    grader = build_grader(GraderSpec(**spec))
    settings = getattr(grader, "inner", grader).spec  # the typed settings, as andon.yaml's loader gives them
    ctx = GraderContext(
        case=case or Case(id="c1", vars={}), output_text="ok", steps=None if steps is None else tuple(steps)
    )
    return asyncio.run(run_grader(settings, grader, ctx))


ORDER = Case(id="c1", vars={"order_id": 1234, "agent": "refund"})


@pytest.mark.parametrize(
    ("spec", "passed"),
    [
        ({"type": "tool-called", "tool": "refund"}, True),
        ({"type": "tool-called", "tool": "cancel"}, False),
        ({"type": "tool-called", "tool": "refund", "arguments": {"order_id": 1234, "amount": 15000}}, True),
        ({"type": "tool-called", "tool": "refund", "arguments": {"order_id": "{{ order_id }}"}}, True),  # templated
        ({"type": "tool-called", "tool": "refund", "arguments": {"amount": 51000}}, False),  # what was asked, edited
        ({"type": "tool-called", "tool": "refund", "arguments_schema": {"required": ["reason"]}}, False),
        (
            {"type": "tool-called", "tool": "refund", "arguments_schema": {"properties": {"amount": {"maximum": 2e4}}}},
            True,
        ),
        ({"type": "tool-called", "tool": "lookup_order", "at_least": 2}, False),
        ({"type": "tool-called", "tool": "lookup_order", "at_most": 1}, True),
        ({"type": "tool-called", "tool": "cancel", "at_least": 0, "at_most": 0}, True),
        ({"type": "not-tool-called", "tool": "refund"}, False),
        ({"type": "tool-not-called", "tool": "cancel"}, True),
        ({"type": "tool-not-called", "tool": "refund"}, False),
        ({"type": "tool-not-called", "tool": "refund", "arguments": {"amount": 51000}}, True),
        ({"type": "tool-order", "tools": ["lookup_order", "refund"]}, True),
        ({"type": "tool-order", "tools": ["refund", "lookup_order"]}, False),
        ({"type": "tool-order", "tools": ["refund"]}, True),  # a subsequence
        ({"type": "tool-order", "tools": ["refund"], "mode": "exact"}, False),
        ({"type": "tool-order", "tools": ["lookup_order", "refund"], "mode": "exact"}, True),
        ({"type": "handoff", "to": "refund"}, True),
        ({"type": "handoff", "to": "{{ agent }}", "source": "triage"}, True),
        ({"type": "handoff", "to": "refund", "source": "order-status"}, False),
        ({"type": "handoff", "to": "order-status"}, False),
        ({"type": "turns", "at_most": 3}, True),
        ({"type": "turns", "at_most": 2}, False),
        ({"type": "turns", "at_most": 1, "count": "tool_calls"}, False),
        ({"type": "clarify"}, True),  # a clear case answered directly
    ],
)
def test_trajectory_graders_on_a_flow(spec: dict[str, Any], passed: bool) -> None:
    result = grade(spec, FLOW, ORDER)
    assert result.passed is passed, result.reason
    assert not result.error and result.reason_key is not None and result.reason_key.startswith(("traj14.", "polish."))


def test_a_number_argument_matches_its_templated_text_but_a_bool_is_no_number() -> None:
    steps = [{"name": "m", "provider": "stub", "tools": [tool("t", {"n": 1, "ok": True})]}]
    assert grade({"type": "tool-called", "tool": "t", "arguments": {"n": "{{ n }}"}}, steps, Case("c", {"n": 1})).passed
    assert not grade({"type": "tool-called", "tool": "t", "arguments": {"ok": 1}}, steps).passed
    assert grade({"type": "tool-called", "tool": "t", "arguments": {"ok": True}}, steps).passed


def test_a_near_miss_says_which_argument_differed_in_either_language() -> None:
    result = grade({"type": "tool-called", "tool": "refund", "arguments": {"amount": 51000}}, FLOW)
    assert result.reason == (
        "refund was called 1 time(s), but not with the expected arguments (argument amount was 15000, expected 51000);"
        " wanted at least 1"
    )
    assert result.reason_in("ko") == (
        "refund를 1회 호출했지만 기대한 인자가 아닙니다(인자 amount의 값이 15000입니다. 기대한 값: 51000)."
        " 최소 1회가 기준입니다"
    )
    broken = grade(
        {"type": "tool-called", "tool": "lookup_order", "arguments": {"order_id": "A1"}, "at_least": 2}, PLAIN
    )
    assert "not a JSON object" in (broken.reason or "")


@pytest.mark.parametrize(
    ("steps", "ambiguous", "penalise", "passed", "key"),
    [
        (CLARIFY, True, True, True, "traj14.grade.asked_ambiguous"),
        (FLOW, True, True, False, "traj14.grade.answered_ambiguous"),
        (CLARIFY, False, True, False, "traj14.grade.asked_clear"),
        (CLARIFY, False, False, True, "traj14.grade.asked_clear"),
        (FLOW, False, True, True, "traj14.grade.answered_clear"),
    ],
)
def test_clarify_asks_exactly_when_the_case_is_ambiguous(
    steps: list[dict[str, Any]], ambiguous: bool, penalise: bool, passed: bool, key: str
) -> None:
    case = Case(id="c", vars={"ambiguous": ambiguous})
    result = grade({"type": "clarify", "penalise_clear": penalise}, steps, case)
    assert (result.passed, result.reason_key) == (passed, key)


def test_ambiguity_may_be_a_tag_a_word_or_another_field() -> None:
    assert grade({"type": "clarify"}, CLARIFY, Case(id="c", vars={}, tags=("ambiguous",))).passed
    assert grade({"type": "clarify"}, CLARIFY, Case(id="c", vars={"ambiguous": "yes"})).passed
    assert grade({"type": "clarify", "field": "unclear"}, CLARIFY, Case(id="c", vars={"unclear": 1})).passed
    assert not grade({"type": "clarify"}, CLARIFY, Case(id="c", vars={"ambiguous": "no"})).passed


def test_an_output_without_steps_fails_every_trajectory_grader_without_an_error() -> None:
    result = grade({"type": "tool-called", "tool": "refund"}, None)
    assert not result.passed and not result.error and result.reason_key == "traj14.grade.no_steps"
    negated = grade({"type": "not-tool-called", "tool": "refund"}, None)
    assert not negated.passed  # an ungradable output never passes, negated or not


def test_tool_graders_are_named_after_their_tool() -> None:
    assert grade({"type": "tool-called", "tool": "refund"}, FLOW).grader == "tool-called:refund"
    assert grade({"type": "tool-called", "tool": "refund", "name": "refunds"}, FLOW).grader == "refunds"


# --- final state --------------------------------------------------------------------------------------------

_modules = itertools.count()

CHECKS = """\
REFUNDS = {1234: 15000}


def refund_exists(case, trajectory):
    order = case.vars["order_id"]
    return order in REFUNDS and any(c.name == "refund" for c in trajectory.tool_calls)


async def refund_amount(case, trajectory):
    return {"passed": REFUNDS.get(case.vars["order_id"]) == 15000, "reason": "refund of 15,000 KRW recorded"}


def crashes(case, trajectory):
    raise LookupError("no refunds table")


def says_maybe(case, trajectory):
    return "maybe"
"""


@pytest.fixture
def checks(tmp_path: Path) -> Iterator[str]:
    name = f"traj_checks_{next(_modules)}"
    (tmp_path / f"{name}.py").write_text(CHECKS, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        yield name
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


def test_final_state_calls_the_check_with_the_case_and_the_trajectory(checks: str) -> None:
    found = grade({"type": "final-state", "function": f"{checks}:refund_exists"}, FLOW, ORDER)
    assert found.passed and found.reason_key == "traj14.grade.state_ok"
    missing = grade({"type": "final-state", "function": f"{checks}:refund_exists"}, FLOW, Case("c", {"order_id": 1}))
    assert not missing.passed and "기대한 상태를 찾지 못했습니다" in (missing.reason_in("ko") or "")
    said = grade({"type": "final-state", "function": f"{checks}:refund_amount"}, FLOW, ORDER)
    assert said.passed and said.reason == f"{checks}:refund_amount: refund of 15,000 KRW recorded"


def test_a_broken_check_is_an_error_of_the_grader_not_a_fail(checks: str) -> None:
    crashed = grade({"type": "final-state", "function": f"{checks}:crashes"}, FLOW, ORDER)
    assert crashed.error and "LookupError" in (crashed.reason or "")
    odd = grade({"type": "final-state", "function": f"{checks}:says_maybe"}, FLOW, ORDER)
    assert odd.error and odd.reason_key == "traj14.grade.state_type"
    with pytest.raises(ConfigError):
        build_grader(GraderSpec(type="final-state", function=f"{checks}:nowhere"))


# --- settings in andon.yaml ---------------------------------------------------------------------------------


def problems_of(tmp_path: Path, *graders: str) -> list[Problem]:
    body = "\n".join(f"      - {line}" for line in graders)
    path = tmp_path / "andon.yaml"
    path.write_text(textwrap.dedent(f"features:\n  f:\n    graders:\n{body}\n"), encoding="utf-8")
    with pytest.raises(InvalidConfig) as info:
        load_config(path, environ={})
    return info.value.problems


def line_of(tmp_path: Path, needle: str) -> int:
    lines = (tmp_path / "andon.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def test_bad_trajectory_settings_are_file_line_errors(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "{type: tool-called}",
        "{type: tool-called, tool: refund, at_least: 2, at_most: 1}",
        "{type: tool-order, tools: [a], mode: sometimes}",
        "{type: final-state, function: checks.refund}",
        "{type: turns, at_most: 3, max: 2}",
    )
    fields = [p.field for p in found]
    assert fields == [
        "features.f.graders[0].tool",
        "features.f.graders[1]",
        "features.f.graders[2].mode",
        "features.f.graders[3].function",
        "features.f.graders[4].max",
    ]
    assert all(str(tmp_path / "andon.yaml") in (p.where or "") for p in found)
    assert found[1].where is not None and found[1].where.split(":")[1] == str(line_of(tmp_path, "at_most: 1"))
    assert "at_most (1) is below at_least (2)" in found[1].message
    assert "dotted path" in found[3].message


def test_good_trajectory_settings_load(tmp_path: Path) -> None:
    path = tmp_path / "andon.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            features:
              f:
                graders:
                  - {type: tool-called, tool: refund, arguments: {order_id: "{{ order_id }}"}, at_most: 1}
                  - {type: not-handoff, to: refund}
                  - {type: clarify, field: unclear}
            """
        ),
        encoding="utf-8",
    )
    graders = load_config(path, environ={}).config.features["f"].graders
    assert [g.label for g in graders] == ["tool-called:refund", "not-handoff", "clarify"]


# --- any provenance parses ----------------------------------------------------------------------------------

_junk = st.none() | st.integers() | st.text(max_size=5) | st.booleans()
_call = st.fixed_dictionaries(
    {"name": st.sampled_from(["lookup", "refund"]), "arguments": st.one_of(_junk, st.just('{"a": 1}'), st.just("{"))},
    optional={"approval": st.one_of(_junk, st.fixed_dictionaries({"status": st.sampled_from(["approved", ""])}))},
)
_step = st.fixed_dictionaries(
    {},
    optional={
        "name": _junk,
        "provider": st.one_of(_junk, st.sampled_from(["stub", "guard", "python", "retrieve"])),
        "agent": st.one_of(st.none(), st.sampled_from(["triage", "refund"])),
        "attempts": st.integers(0, 2),
        "tools": st.one_of(_junk, st.lists(st.one_of(_call, _junk), max_size=3)),
        "handoff": st.one_of(_junk, st.fixed_dictionaries({"to": st.sampled_from(["refund", ""])})),
        "output_kind": st.sampled_from(["answer", "clarify", "other"]),
        "limit": st.one_of(st.none(), st.sampled_from(list(LIMITS))),
    },
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_step, max_size=6))
def test_any_provenance_reads_as_a_consistent_trajectory(steps: list[dict[str, Any]]) -> None:
    path = trajectory_of(steps)
    calls = [c for s in steps if isinstance(s.get("tools"), list) for c in s["tools"] if isinstance(c, dict)]
    assert len(path.tool_calls) == len(calls)
    assert [c.name for c in path.tool_calls] == [c["name"] for c in calls]
    assert path.turns <= len(steps) and path.turns >= sum(1 for s in steps if s.get("agent"))
    approvals = [e for e in path.events if isinstance(e, ApprovalEvent)]
    assert all(path.events[path.events.index(a) + 1].kind == "tool" for a in approvals)  # asked, then called
    last = steps[-1] if steps else {}
    assert path.clarified is (last.get("output_kind") == "clarify")
    ends_on_limit = bool(path.events) and path.events[-1].kind == "limit"
    assert path.limit == last.get("limit") and ends_on_limit is (path.limit is not None)
    assert set(path.figures()) == {"turns", "tool_calls", "handoffs", "clarified", "limit"}
