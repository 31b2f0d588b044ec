"""Flows of agents (issue 14): handoffs, limits, clarifying questions and ids, against the loopback stub."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from bench.stub import Scripted
from hypothesis import given
from hypothesis import strategies as st
from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply

import andon
from andon.agents.flow import count_output_kinds
from andon.agents.flow_handoff import handed_over
from andon.config.flow import HandoffFilter
from andon.config.loader import load_config
from andon.config.problems import InvalidConfig
from andon.engine.masking import MaskPolicy
from andon.engine.pipeline import Outcome, run_version
from andon.evals.check import check_workspace
from andon.providers.base import Message, TextPart
from andon.versions.canonical import Version, build_version, version_from_content
from andon.versions.diff import diff_versions
from andon.workspace import Workspace

pytestmark = pytest.mark.timeout(120)

TOOLS_MODULE = '''\
"""Tools of the test shop."""

def lookup_order(order_id):
    return {"order_id": order_id, "status": "damaged"}
'''
LOOKUP = {
    "name": "lookup_order",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    "python": "flow_shop:lookup_order",
}


def support_flow(**changes: Any) -> dict[str, Any]:
    """triage -> order -> refund; order may also hand back to triage (a cycle is fine)."""
    agents: dict[str, Any] = {
        "triage": {
            "instructions": "Route the customer to the right desk.",
            "prompt": "{{ input }}",
            "handoffs": ["order", {"agent": "refund", "description": "Money back"}],
        },
        "order": {
            "description": "Questions about an order",
            "instructions": "Look the order up.",
            "tools": [LOOKUP],
            "handoffs": [{"agent": "refund", "filter": "last_user"}, "triage"],
        },
        "refund": {"instructions": "Issue refunds for {{ customer }}."},
    }
    flow: dict[str, Any] = {"entry": "triage", "agents": agents}
    for key, value in changes.items():
        flow[key] = value
    return flow


def write(root: Path, base_url: str, flow: dict[str, Any], feature: dict[str, Any] | None = None, **top: Any) -> None:
    (root / "flow_shop.py").write_text(TOOLS_MODULE, encoding="utf-8")
    config = {
        "name": "flows",
        "providers": {
            "stub": {"type": "openai", "base_url": base_url, "api_key": "sk", "model": "stub-model", "max_retries": 0}
        },
        "features": {"support": {"versions": {"v1": flow}, **(feature or {})}},
        **top,
    }
    (root / "andon.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")


@pytest.fixture
def stub() -> Iterator[ThreadedStub]:
    with ThreadedStub(echo=True) as server:
        yield server


def run(
    root: Path, variables: dict[str, Any] | None = None, masking: MaskPolicy | None = None
) -> tuple[Outcome, list[dict[str, Any]]]:
    sys.path.insert(0, str(root))  # the workspace's tools module, as `andon` run there would import it
    try:
        with Workspace.open(root) as ws:

            async def once() -> Outcome:
                try:
                    scope = variables or {"input": "my bike arrived broken", "customer": "Minji"}
                    return await run_version(ws.version("support", "v1"), scope, ws, masking=masking)
                finally:
                    await ws.aclose_providers()

            outcome = asyncio.run(once())
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("flow_shop", None)
    return outcome, outcome.to_record().steps


def handoff(call_id: str, target: str, reason: str | None = None) -> Scripted:
    return tool_calls_reply(tool_call(call_id, f"transfer_to_{target}", {"reason": reason} if reason else {}))


def test_a_handoff_chain_passes_the_conversation_and_records_each_turn(tmp_path: Path, stub: ThreadedStub) -> None:
    write(tmp_path, stub.base_url, support_flow())
    stub.program(
        handoff("h1", "order", "an order problem"),
        tool_calls_reply(tool_call("t1", "lookup_order", {"order_id": "A1"})),
        handoff("h2", "refund", "damaged on arrival"),
        Scripted(content="Refund of A1 issued."),
    )
    outcome, steps = run(tmp_path)
    assert (outcome.status, outcome.output_text) == ("ok", "Refund of A1 issued.")
    assert [s["agent"] for s in steps] == ["triage", "order", "refund"]
    assert steps[0]["handoff"] == {"from": "triage", "to": "order", "reason": "an order problem"}
    assert steps[1]["handoff"] == {"from": "order", "to": "refund", "reason": "damaged on arrival"}
    assert "handoff" not in steps[2] and steps[2]["output_kind"] == "answer"
    assert all("output_kind" not in s and "limit" not in s for s in steps[:2])
    assert [c["name"] for c in steps[1]["tools"]] == ["lookup_order"]  # the handoff is not a tool call
    bodies = [r.body for r in stub.received]
    offered = [[t["function"]["name"] for t in b.get("tools", [])] for b in bodies]
    assert offered[0] == ["transfer_to_order", "transfer_to_refund"]
    assert offered[1] == offered[2] == ["lookup_order", "transfer_to_refund", "transfer_to_triage"]
    assert offered[3] == []
    assert bodies[0]["tools"][1]["function"]["description"] == "Money back"
    assert bodies[0]["tools"][0]["function"]["description"] == "Questions about an order"
    # order sees its own instructions and the whole conversation so far (filter all), not triage's instructions
    order_sent = bodies[1]["messages"]
    assert order_sent[0] == {"role": "system", "content": "Look the order up."}
    assert [m["role"] for m in order_sent] == ["system", "user", "assistant", "tool"]
    assert order_sent[2]["tool_calls"][0]["function"]["name"] == "transfer_to_order"
    # refund is handed only the last user message (filter last_user), its instructions rendered with the case
    refund_sent = bodies[3]["messages"]
    assert [(m["role"], m["content"]) for m in refund_sent] == [
        ("system", "Issue refunds for Minji."),
        ("user", "my bike arrived broken"),
    ]
    assert outcome.to_record().output_text == "Refund of A1 issued."


@pytest.mark.parametrize("limit", ["max_turns", "max_tool_calls", "budget", "wall_time"])
def test_each_limit_ends_the_flow_cleanly_with_its_reason(tmp_path: Path, stub: ThreadedStub, limit: str) -> None:
    table: dict[str, dict[str, Any]] = {
        "max_turns": {"max_turns": 2},
        "max_tool_calls": {"max_tool_calls": 1},
        "budget": {"budget": 5},
        "wall_time": {"wall_time_s": 0.5},
    }
    limits = table[limit]
    prices = [{"provider": "stub", "model": "*", "input_per_1m": 1_000_000, "output_per_1m": 0, "currency": "KRW"}]
    write(tmp_path, stub.base_url, support_flow(limits=limits), currency="KRW", prices=prices)
    two_lookups = tool_calls_reply(
        tool_call("t1", "lookup_order", {"order_id": "A1"}), tool_call("t2", "lookup_order", {"order_id": "A2"})
    )
    script = {
        "max_turns": [handoff("h1", "order"), handoff("h2", "triage"), handoff("h3", "refund")],
        "max_tool_calls": [handoff("h1", "order"), two_lookups],
        "budget": [handoff("h1", "order"), Scripted(content="never asked")],  # 10 tokens at 1 KRW each: 10 KRW
        "wall_time": [Scripted(content="too late", delay_s=3)],
    }[limit]
    stub.program(*script)
    outcome, steps = run(tmp_path)
    assert outcome.status == "error"
    assert f"limits.{'wall_time_s' if limit == 'wall_time' else limit}" in (outcome.error or "")
    assert steps[-1]["limit"] == limit and steps[-1]["error"] == outcome.error
    assert "output_kind" not in steps[-1]
    assert all("limit" not in s for s in steps[:-1])
    turns = {"max_turns": 2, "max_tool_calls": 2, "budget": 1, "wall_time": 1}[limit]
    assert [s["agent"] for s in steps] == ["triage", "order", "triage"][:turns]
    if limit == "max_tool_calls":
        assert [c["call_id"] for c in steps[-1]["tools"]] == []  # refused before running: two would exceed one
    if limit == "budget":
        assert steps[0]["cost"] == pytest.approx(10.0) and steps[0]["currency"] == "KRW"
        assert "10 KRW" in (outcome.error or "") and len(stub.received) == 1


def test_a_clarifying_question_is_its_own_kind_of_answer(tmp_path: Path, stub: ThreadedStub) -> None:
    write(tmp_path, stub.base_url, support_flow(clarify=True))
    stub.program(
        handoff("h1", "order"),
        tool_calls_reply(tool_call("q1", "ask_clarifying_question", {"question": "Which order number?"})),
    )
    outcome, steps = run(tmp_path)
    assert (outcome.status, outcome.output_text) == ("ok", "Which order number?")
    assert [s["agent"] for s in steps] == ["triage", "order"]
    assert steps[-1]["output_kind"] == "clarify" and steps[-1]["tools"] == []
    offered = [t["function"]["name"] for t in stub.received[0].body["tools"]]
    assert offered == ["transfer_to_order", "transfer_to_refund", "ask_clarifying_question"]


def test_the_flow_id_covers_every_agent(tmp_path: Path) -> None:
    def version(flow: dict[str, Any]) -> Version:
        write(tmp_path, "http://127.0.0.1:9/v1", flow)
        config = load_config(tmp_path / "andon.yaml").config
        return build_version("support", "v1", config.features["support"].versions["v1"], config)

    def version_id(flow: dict[str, Any]) -> str:
        return version(flow).id

    base = version_id(support_flow())
    changed = support_flow()
    changed["agents"]["refund"]["instructions"] = "Issue refunds politely."  # not the entry agent
    assert version_id(changed) != base
    (change,) = diff_versions(version(support_flow()), version(changed))
    assert (change.path, change.after) == ("agents.refund.instructions", "Issue refunds politely.")
    stored = version(changed)
    again = version_from_content("support", "v1", stored.content)
    assert (again.id, again.flow) == (stored.id, stored.flow)  # a stored flow is rebuilt exactly
    assert version_id(support_flow(limits={"max_turns": 3})) != base
    assert version_id(support_flow(clarify=True)) != base
    assert version_id(support_flow()) == base
    same = support_flow()
    same["agents"]["order"]["handoffs"][1] = {"agent": "triage"}  # the shorthand and the long form are one
    assert version_id(same) == base


def test_bad_references_name_their_line(tmp_path: Path) -> None:
    flow = support_flow(entry="desk")
    flow["agents"]["order"]["handoffs"][0] = "refnd"
    flow["agents"]["refund"]["handoffs"] = ["refund"]
    write(tmp_path, "http://127.0.0.1:9/v1", flow)
    with pytest.raises(InvalidConfig) as caught:
        load_config(tmp_path / "andon.yaml")
    lines = (tmp_path / "andon.yaml").read_text(encoding="utf-8").splitlines()
    found = {p.field: p for p in caught.value.problems}
    assert set(found) == {
        "features.support.versions.v1.entry",
        "features.support.versions.v1.agents.order.handoffs[0]",
        "features.support.versions.v1.agents.refund.handoffs[0]",
    } or set(found) == {
        "features.support.versions.v1.entry",
        "features.support.versions.v1.agents.order.handoffs.0",
        "features.support.versions.v1.agents.refund.handoffs.0",
    }
    entry = next(p for f, p in found.items() if f.endswith("entry"))
    line = int(entry.where.split(":")[-2])
    assert '"entry": "desk"' in lines[line - 1] and "not an agent" in entry.message
    typo = next(p for f, p in found.items() if "order.handoffs" in f)
    assert '"refnd"' in lines[int(typo.where.split(":")[-2]) - 1] and "refund" in (typo.hint or "")


def test_the_runner_counts_clarifying_questions_apart_from_answers(tmp_path: Path, stub: ThreadedStub) -> None:
    cases = [{"id": "vague", "vars": {"input": "it broke"}}, {"id": "clear", "vars": {"input": "refund A1"}}]
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    feature = {"dataset": "cases.jsonl", "graders": [{"type": "regex", "value": "."}]}
    flow = support_flow(clarify=True)
    flow["agents"]["triage"]["handoffs"] = []  # the entry answers (the stub echoes) or asks
    write(tmp_path, stub.base_url, flow, feature)
    # Whichever case is sent first is asked back; the other is echoed (the stub's default answer).
    stub.program(tool_calls_reply(tool_call("q1", "ask_clarifying_question", {"question": "What broke?"})))
    sys.path.insert(0, str(tmp_path))
    try:
        report = andon.evaluate("support", workspace=tmp_path)
    finally:
        sys.path.remove(str(tmp_path))
    assert sorted(c.status for c in report.cells) == ["ok", "ok"]
    with Workspace.open(tmp_path) as ws:
        outputs = ws.store.outputs_by_id([c.output_id for c in report.cells if c.output_id]).values()
        assert count_output_kinds(outputs) == {"answer": 1, "clarify": 1}
    texts = sorted(c.output_text or "" for c in report.cells)
    assert "What broke?" in texts


def test_a_masked_feature_sends_every_agent_masked_text(tmp_path: Path, stub: ThreadedStub) -> None:
    write(tmp_path, stub.base_url, support_flow())
    stub.program(handoff("h1", "refund"), Scripted(content="I will call [PHONE_1]."))
    variables = {"input": "call me on 010-1234-5678", "customer": "kim@example.com"}
    outcome, steps = run(tmp_path, variables, MaskPolicy())
    assert outcome.status == "ok"
    sent = json.dumps([r.body["messages"] for r in stub.received], ensure_ascii=False)
    assert "010-1234-5678" not in sent and "kim@example.com" not in sent
    assert "[PHONE_1]" in sent and "[EMAIL_1]" in sent  # refund's instructions name the customer
    assert outcome.output_text == "I will call 010-1234-5678."  # restored for the caller
    assert steps[-1]["masking"]["placeholders"] == {"PHONE": 1, "EMAIL": 1}


_ROLES: st.SearchStrategy[Literal["system", "user", "assistant", "tool"]] = st.sampled_from(
    ["system", "user", "assistant", "tool"]
)


@st.composite
def conversations(draw: st.DrawFn) -> list[Message]:
    out = []
    for role in draw(st.lists(_ROLES, max_size=12)):
        text = draw(st.text(max_size=5))
        calls = ({"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}},) * draw(st.booleans())
        out.append(Message(role, (TextPart(text),), tool_calls=calls if role == "assistant" else ()))
    return out


@given(conversations(), st.sampled_from(["all", "no_tools", "last_user"]))
def test_a_handoff_never_passes_instructions_and_its_filter_holds(talk: list[Message], how: HandoffFilter) -> None:
    passed = handed_over(talk, how)
    assert all(m.role != "system" for m in passed)
    assert all(m in talk or m.role == "assistant" for m in passed)
    if how == "all":
        assert passed == [m for m in talk if m.role != "system"]
    if how == "no_tools":
        assert all(m.role != "tool" and not m.tool_calls for m in passed)
    if how == "last_user":
        users = [m for m in talk if m.role == "user"]
        assert passed == users[-1:]


def test_andon_check_reads_every_agent(tmp_path: Path) -> None:
    (tmp_path / "cases.jsonl").write_text(json.dumps({"id": "a", "vars": {"input": "hi"}}) + "\n", encoding="utf-8")
    flow = support_flow()
    flow["agents"]["order"]["provider"] = "stb"
    write(tmp_path, "http://127.0.0.1:9/v1", flow, {"dataset": "cases.jsonl"})
    report = check_workspace(tmp_path / "andon.yaml")
    fields = {p.field for p in report.problems}
    assert "features.support.versions.v1.agents.order.provider" in fields
    # refund's instructions use {{ customer }}, which no case gives: found though refund is not the entry
    assert any(f.endswith("agents.refund.instructions") for f in fields)


def test_a_malformed_question_is_sent_back_and_the_agent_may_ask_again(tmp_path: Path, stub: ThreadedStub) -> None:
    write(tmp_path, stub.base_url, support_flow(clarify=True))
    stub.program(
        tool_calls_reply(tool_call("q1", "ask_clarifying_question", {"question": "  "})),
        tool_calls_reply(tool_call("q2", "ask_clarifying_question", {"question": "Which order?"})),
    )
    outcome, steps = run(tmp_path)
    assert (outcome.status, outcome.output_text, steps[-1]["output_kind"]) == ("ok", "Which order?", "clarify")
    told = stub.received[1].body["messages"][-1]
    assert told["role"] == "tool" and "question" in json.loads(told["content"])["error"]


def test_malformed_pseudo_calls_count_against_the_tool_call_limit(tmp_path: Path, stub: ThreadedStub) -> None:
    write(tmp_path, stub.base_url, support_flow(clarify=True, limits={"max_tool_calls": 2}))
    stub.program(*[tool_calls_reply(tool_call(f"q{i}", "ask_clarifying_question", {})) for i in range(5)])
    outcome, steps = run(tmp_path)
    assert outcome.status == "error" and steps[-1]["limit"] == "max_tool_calls"
    assert len(stub.received) == 3  # two refused questions, then the third call is over the limit
