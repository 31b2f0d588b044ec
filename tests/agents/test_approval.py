"""`approval: human` on a tool: the gateway parks the call in the review queue; a person approves, edits or
rejects it (`andon review` in another process, or a fresh Workspace); the run resumes to its final answer."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.stub import Scripted
from tests.support.refund_shop import TOOLS_MODULE, andon_cli, refunds, stored_steps
from tests.support.refund_shop import invoke as shop_invoke
from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply

from andon.errors import ConfigError
from andon.gateway.types import InvokeResult
from andon.review import queue
from andon.review.queue import AlreadyDecidedError
from andon.review.tool_approval import decide_tool_call
from andon.workspace import Workspace

pytestmark = pytest.mark.timeout(300)

REFUND = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "amount": {"type": "integer", "minimum": 1, "maximum": 50000}},
    "required": ["order_id", "amount"],
}


def write_workspace(root: Path, base_url: str) -> None:
    (root / "approval_tools.py").write_text(TOOLS_MODULE, encoding="utf-8")
    tools = [
        {"name": "refund", "parameters": REFUND, "python": "approval_tools:refund", "approval": "human"},
        {"name": "lookup_order", "python": "approval_tools:lookup_order"},
    ]
    step = {"name": "main", "provider": "stub", "system": "You refund buyers.", "prompt": "{{ input }}"}
    config = {
        "name": "approvals",
        "providers": {
            "stub": {"type": "openai", "base_url": base_url, "api_key": "sk", "model": "stub-model", "max_retries": 0}
        },
        "features": {
            "refunds": {
                "versions": {"v1": {"steps": [{**step, "tools": tools, "max_tool_calls": 5}]}},
                "serve": {"data_use": {"inputs": "full"}},
            }
        },
    }
    (root / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[Path, ThreadedStub]]:
    root = tmp_path / "ws"
    root.mkdir()
    with ThreadedStub(echo=True) as stub:
        write_workspace(root, stub.base_url)
        sys.path.insert(0, str(root))  # the workspace's tools module, as `andon` run there imports it
        try:
            yield root, stub
        finally:
            sys.path.remove(str(root))
            sys.modules.pop("approval_tools", None)


def invoke(root: Path, database_url: str | None, text: str) -> InvokeResult:
    return shop_invoke(root, database_url, "refunds", text)


def test_a_parked_refund_runs_once_with_the_edited_arguments_after_approval_in_another_process(
    shop: tuple[Path, ThreadedStub], database_url: str
) -> None:
    root, stub = shop
    stub.program(
        tool_calls_reply(tool_call("c1", "lookup_order", {"order_id": "A1"})),
        tool_calls_reply(tool_call("c2", "refund", {"order_id": "A1", "amount": 90000})),
        Scripted(content="환불 5000원 처리했습니다."),
    )
    parked = invoke(root, database_url, "A1 환불해 주세요")
    assert (parked.route, parked.status, parked.output_text) == ("human", "queued", None)
    assert parked.review_id is not None and refunds(root) == []  # nothing refunded while it waits
    assert len(stub.received) == 2  # the model was not asked again: the run waits
    trace, steps = stored_steps(root, database_url, parked.trace_id)
    assert (trace["route"], trace["status"]) == ("human", "queued")
    assert trace["output_json"]["tool"] == "refund" and "waiting for approval" in trace["note"]
    assert [c["name"] for c in steps[0]["tools"]] == ["lookup_order"]  # the call before it ran as usual
    parked_output = trace["output_id"]

    shown = andon_cli("review", "show", parked.review_id, "--json", cwd=root, database_url=database_url)
    item = json.loads(shown.stdout)
    assert item["reason"] == "tool_approval" and item["status"] == "pending", shown.stderr
    assert item["suggestion_json"]["arguments"] == {"order_id": "A1", "amount": 90000}

    edited = json.dumps({"order_id": "A1", "amount": 5000})
    done = andon_cli("review", "approve", parked.review_id, "--arguments", edited, "--json", cwd=root,
                 database_url=database_url)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], result["output_text"]) == ("ok", "환불 5000원 처리했습니다.")
    assert refunds(root) == [("A1", 5000)]  # ran once, with the person's arguments
    last = stub.received[-1].body["messages"]
    assert json.loads(last[-1]["content"]) == {"refunded": 5000, "order_id": "A1"}
    assert [m["role"] for m in last] == ["system", "user", "assistant", "tool", "assistant", "tool"]

    trace, steps = stored_steps(root, database_url, parked.trace_id)
    assert (trace["status"], trace["output_text"]) == ("ok", "환불 5000원 처리했습니다.")
    log = steps[0]["tools"]
    assert [c["name"] for c in log] == ["lookup_order", "refund"]
    assert log[1]["approval"]["status"] == "edited" and log[1]["approval"]["by"] == "minji"
    assert log[1]["approval"]["arguments_asked"] == {"order_id": "A1", "amount": 90000}
    assert json.loads(log[1]["arguments"]) == {"order_id": "A1", "amount": 5000}
    assert "parked" not in steps[0]
    with Workspace.open(root, database_url=database_url) as ws:
        decided = queue.get(ws.store, parked.review_id)
        spans = ws.store.list_spans(parked.trace_id)
        old = ws.store.get_output(parked_output).steps[0]
    assert "parked" not in old and old["tools"][0]["name"] == "lookup_order"  # resume state dropped, log kept
    assert decided.decided_by == "minji" and decided.decision["answer"]["text"] == "환불 5000원 처리했습니다."
    kinds = sorted(s.kind for s in spans)
    assert kinds == ["approval", "call", "model", "tool", "tool"]  # each call once, the approval as its own span
    assert next(s for s in spans if s.kind == "approval").attributes["andon.approval.status"] == "edited"

    again = andon_cli("review", "approve", parked.review_id, cwd=root, database_url=database_url)
    assert again.returncode != 0 and "decided" in again.stderr + again.stdout
    assert refunds(root) == [("A1", 5000)]


def test_a_rejected_call_reaches_the_model_as_a_tool_error_and_the_tool_never_runs(
    shop: tuple[Path, ThreadedStub], database_url: str
) -> None:
    root, stub = shop
    stub.program(
        tool_calls_reply(tool_call("c1", "refund", {"order_id": "B2", "amount": 40000})),
        Scripted(content="환불은 어렵습니다."),
    )
    parked = invoke(root, database_url, "B2 전액 환불")
    assert parked.review_id is not None

    async def reject() -> Any:
        with Workspace.open(root, database_url=database_url) as ws:  # a new store object: all from the store
            return await decide_tool_call(
                ws, parked.review_id or "", status="rejected", actor="lead", reason="not delivered yet"
            )

    resumed = asyncio.run(reject())
    assert (resumed.status, resumed.output_text) == ("ok", "환불은 어렵습니다.")
    assert refunds(root) == []
    sent = stub.received[-1].body["messages"][-1]
    assert sent["role"] == "tool"
    assert json.loads(sent["content"]) == {"error": "rejected by a person: not delivered yet"}
    _trace, steps = stored_steps(root, database_url, parked.trace_id)
    (entry,) = steps[0]["tools"]
    assert entry["approval"]["status"] == "rejected" and entry["approval"]["by"] == "lead"
    assert entry["error"] == "rejected by a person: not delivered yet"
    assert resumed.item.comment == "not delivered yet" and resumed.item.label == "rejected"


def test_edited_arguments_failing_the_schema_are_refused_and_nothing_is_recorded(
    shop: tuple[Path, ThreadedStub], database_url: str
) -> None:
    root, stub = shop
    stub.program(tool_calls_reply(tool_call("c1", "refund", {"order_id": "C3", "amount": 1000})))
    parked = invoke(root, database_url, "C3")
    assert parked.review_id is not None
    bad = andon_cli("review", "approve", parked.review_id, "--arguments", '{"order_id": "C3", "amount": "lots"}',
                cwd=root, database_url=database_url)  # fmt: skip
    assert bad.returncode == 2
    message = bad.stderr + bad.stdout
    assert "do not fit its schema at amount" in message and "Traceback" not in message
    assert "'lots' is not of type 'integer'" in message
    decide = andon_cli("review", "decide", parked.review_id, "--label", "approve", cwd=root, database_url=database_url)
    assert decide.returncode == 2 and "parked tool call" in decide.stderr + decide.stdout
    no_reason = andon_cli("review", "reject", parked.review_id, "--reason", " ", cwd=root, database_url=database_url)
    assert no_reason.returncode == 2 and "needs a reason" in no_reason.stderr + no_reason.stdout
    with Workspace.open(root, database_url=database_url) as ws:
        assert queue.get(ws.store, parked.review_id).status == "pending"
        with pytest.raises(ConfigError, match="must be a JSON object"):
            asyncio.run(decide_tool_call(ws, parked.review_id, status="edited", actor="x", arguments=[1]))
    assert refunds(root) == []


def test_two_approval_calls_in_one_turn_park_twice_and_the_second_decider_loses(
    shop: tuple[Path, ThreadedStub], database_url: str
) -> None:
    root, stub = shop
    stub.program(
        tool_calls_reply(
            tool_call("c1", "refund", {"order_id": "D4", "amount": 100}),
            tool_call("c2", "refund", {"order_id": "D5", "amount": 200}),
        ),
        Scripted(content="두 건 환불했습니다."),
    )
    parked = invoke(root, database_url, "D4, D5")
    assert parked.review_id is not None

    async def approve(review_id: str) -> Any:
        with Workspace.open(root, database_url=database_url) as ws:
            return await decide_tool_call(ws, review_id, status="approved", actor="lead")

    first = asyncio.run(approve(parked.review_id))
    assert first.status == "queued" and first.next_review_id is not None  # the turn's second call waits now
    assert refunds(root) == [("D4", 100)] and len(stub.received) == 1
    with pytest.raises(AlreadyDecidedError):
        asyncio.run(approve(parked.review_id))
    second = asyncio.run(approve(first.next_review_id))
    assert (second.status, second.output_text) == ("ok", "두 건 환불했습니다.")
    assert refunds(root) == [("D4", 100), ("D5", 200)]
    _trace, steps = stored_steps(root, database_url, parked.trace_id)
    assert [c["approval"]["status"] for c in steps[0]["tools"]] == ["approved", "approved"]
