"""A flow whose agent calls an ``approval: human`` tool parks at that agent's turn; a person's decision
(`andon review approve` in another process, or in-process) resumes the flow from that turn on, through the
gateway and through the evaluation runner, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.stub import Scripted
from tests.support.refund_shop import LOOKUP, TOOLS_MODULE, andon_cli, refunds, stored_steps
from tests.support.refund_shop import invoke as shop_invoke
from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply

import andon
from andon.agents.flow import count_output_kinds
from andon.agents.trajectory import trajectory_of
from andon.engine.approval import ApprovalDecision, parked_step, resume_run
from andon.gateway.types import InvokeResult
from andon.review.tool_approval import decide_tool_call
from andon.workspace import Workspace

pytestmark = pytest.mark.timeout(300)

REFUND = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "amount": {"type": "integer", "minimum": 1}},
    "required": ["order_id", "amount"],
}


def write_workspace(root: Path, base_url: str, max_turns: int) -> None:
    (root / "flow_refund_tools.py").write_text(TOOLS_MODULE, encoding="utf-8")
    (root / "cases.jsonl").write_text(json.dumps({"id": "r1", "vars": {"input": "A1 환불해 주세요"}}) + "\n")
    tools = [
        {"name": "lookup_order", "parameters": LOOKUP, "python": "flow_refund_tools:lookup_order"},
        {"name": "refund", "parameters": REFUND, "python": "flow_refund_tools:refund", "approval": "human"},
    ]
    flow = {
        "entry": "triage",
        "limits": {"max_turns": max_turns, "max_tool_calls": 4},
        "agents": {
            "triage": {"instructions": "Route the buyer.", "prompt": "{{ input }}", "handoffs": ["refund"]},
            "refund": {"instructions": "Refund desk.", "tools": tools, "handoffs": ["triage"]},
        },
    }
    config = {
        "name": "flow-approvals",
        "providers": {
            "stub": {"type": "openai", "base_url": base_url, "api_key": "sk", "model": "stub-model", "max_retries": 0}
        },
        "features": {
            "market": {
                "dataset": "cases.jsonl",
                "graders": [{"type": "tool-called", "tool": "refund"}],
                "versions": {"v1": flow},
                "serve": {"data_use": {"inputs": "full"}},
            }
        },
    }
    (root / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")


@pytest.fixture
def market(tmp_path: Path) -> Iterator[tuple[Path, ThreadedStub]]:
    root = tmp_path / "ws"
    root.mkdir()
    with ThreadedStub(echo=True) as stub:
        write_workspace(root, stub.base_url, max_turns=3)
        sys.path.insert(0, str(root))  # the workspace's tools module, as `andon` run there imports it
        try:
            yield root, stub
        finally:
            sys.path.remove(str(root))
            sys.modules.pop("flow_refund_tools", None)


def handoff(call_id: str, target: str) -> Scripted:
    return tool_calls_reply(tool_call(call_id, f"transfer_to_{target}", {"reason": "refund"}))


def park_script(stub: ThreadedStub, *after: Scripted) -> None:
    """triage hands to refund; refund looks the order up, then asks to refund it (which parks)."""
    stub.program(
        handoff("h1", "refund"),
        tool_calls_reply(tool_call("c1", "lookup_order", {"order_id": "A1"})),
        tool_calls_reply(tool_call("c2", "refund", {"order_id": "A1", "amount": 12000})),
        *after,
    )


def invoke(root: Path, database_url: str, text: str) -> InvokeResult:
    return shop_invoke(root, database_url, "market", text)


def test_an_approved_refund_resumes_the_flow_at_the_refund_agent_in_another_process(
    market: tuple[Path, ThreadedStub], database_url: str
) -> None:
    root, stub = market
    park_script(stub, Scripted(content="12,000원 환불했습니다."))
    parked = invoke(root, database_url, "A1 환불해 주세요")
    assert (parked.route, parked.status, parked.output_text) == ("human", "queued", None)
    assert parked.review_id is not None and refunds(root) == []
    assert len(stub.received) == 3  # the refund agent was not asked again: the flow waits
    trace, steps = stored_steps(root, database_url, parked.trace_id)
    assert [s["agent"] for s in steps] == ["triage", "refund"]
    assert steps[1]["parked"]["flow"]["agent"] == "refund" and steps[1]["parked"]["flow"]["turns"] == 1
    assert count_output_kinds([_record(steps)]) == {"parked": 1}

    done = andon_cli("review", "approve", parked.review_id, "--json", cwd=root, database_url=database_url)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], result["output_text"]) == ("ok", "12,000원 환불했습니다.")
    assert refunds(root) == [("A1", 12000)]  # ran once, after the person approved it
    last = stub.received[-1].body["messages"]
    assert last[0] == {"role": "system", "content": "Refund desk."}  # the refund agent's turn went on
    assert [m["role"] for m in last] == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant",
                                         "tool"]  # fmt: skip
    assert json.loads(last[-1]["content"]) == {"refunded": 12000, "order_id": "A1"}

    trace, steps = stored_steps(root, database_url, parked.trace_id)
    assert (trace["status"], trace["output_text"]) == ("ok", "12,000원 환불했습니다.")
    assert [s["agent"] for s in steps] == ["triage", "refund"] and "parked" not in steps[1]
    assert steps[0]["handoff"] == {"from": "triage", "to": "refund", "reason": "refund"}
    assert [c["name"] for c in steps[1]["tools"]] == ["lookup_order", "refund"]
    assert steps[1]["tools"][1]["approval"]["status"] == "approved" and steps[1]["output_kind"] == "answer"
    path = trajectory_of(steps)
    assert [h.target for h in path.handoffs] == ["refund"] and path.turns == 2


def test_a_rejected_refund_reaches_the_agent_which_may_hand_back_within_the_turn_limit(
    market: tuple[Path, ThreadedStub], database_url: str
) -> None:
    root, stub = market  # max_turns 3: triage, refund (parked, then resumed as the same turn), triage
    park_script(stub, handoff("h2", "triage"), Scripted(content="상담원이 확인 후 연락드릴게요."))
    parked = invoke(root, database_url, "A1 환불")
    assert parked.review_id is not None

    async def reject() -> Any:
        with Workspace.open(root, database_url=database_url) as ws:  # a fresh store object: all from the store
            return await decide_tool_call(ws, parked.review_id or "", status="rejected", actor="lead",
                                          reason="판매자 확인 필요")  # fmt: skip

    resumed = asyncio.run(reject())
    assert (resumed.status, resumed.output_text) == ("ok", "상담원이 확인 후 연락드릴게요.")
    assert refunds(root) == []
    _trace, steps = stored_steps(root, database_url, parked.trace_id)
    assert [s["agent"] for s in steps] == ["triage", "refund", "triage"]
    assert steps[1]["tools"][1]["error"] == "rejected by a person: 판매자 확인 필요"
    assert steps[1]["handoff"]["to"] == "triage" and "limit" not in steps[-1]
    back = stub.received[-1].body["messages"]
    assert back[0] == {"role": "system", "content": "Route the buyer."}  # triage got the conversation back


def test_a_parked_evaluation_cell_of_a_flow_resumes_from_the_stored_output(
    market: tuple[Path, ThreadedStub], database_url: str
) -> None:
    root, stub = market
    park_script(stub, Scripted(content="환불 완료"))
    with Workspace.open(root, database_url=database_url) as ws:
        report = andon.evaluate("market", workspace=ws)
    (cell,) = report.cells
    assert (cell.status, cell.grades, cell.failed_to_run) == ("parked", [], False)  # waits: not a wrong answer

    async def approve() -> Any:
        with Workspace.open(root, database_url=database_url) as ws:
            output = ws.store.get_output(cell.output_id or "")
            found = parked_step(output.steps)
            assert found is not None
            version = ws.version("market", output.version_id)
            try:
                return await resume_run(version, found[1]["parked"], ApprovalDecision("approved", "lead"), ws)
            finally:
                await ws.aclose_providers()

    outcome = asyncio.run(approve())
    assert (outcome.status, outcome.output_text) == ("ok", "환불 완료")
    assert refunds(root) == [("A1", 12000)]
    (step,) = [s.to_json() for s in outcome.steps]  # the resumed turn; the stored output keeps the earlier one
    assert step["agent"] == "refund" and [c["name"] for c in step["tools"]] == ["lookup_order", "refund"]


def test_a_parked_flow_counts_the_turns_it_used_before_it_waited(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    with ThreadedStub(echo=True) as stub:
        write_workspace(root, stub.base_url, max_turns=2)
        sys.path.insert(0, str(root))
        try:
            park_script(stub, handoff("h2", "triage"), Scripted(content="never sent"))
            url = f"sqlite:///{tmp_path / 'andon.db'}"
            parked = invoke(root, url, "A1")

            async def approve() -> Any:
                with Workspace.open(root, database_url=url) as ws:
                    return await decide_tool_call(ws, parked.review_id or "", status="approved", actor="lead")

            resumed = asyncio.run(approve())
        finally:
            sys.path.remove(str(root))
            sys.modules.pop("flow_refund_tools", None)
        assert len(stub.received) == 4  # the third turn (back to triage) is over the limit: never asked
    assert resumed.status == "error" and "2" in (resumed.error or "")
    _trace, steps = stored_steps(root, url, parked.trace_id)
    assert steps[-1]["limit"] == "max_turns" and refunds(root) == [("A1", 12000)]


def _record(steps: list[dict[str, Any]]) -> Any:
    """A stand-in output record holding only ``steps`` (what count_output_kinds reads)."""

    class Record:
        pass

    record = Record()
    record.steps = steps  # type: ignore[attr-defined]
    return record
