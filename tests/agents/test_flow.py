"""Flows of agents (issue 14): handoffs, limits, clarifying questions and ids, against the loopback stub."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.stub import Scripted
from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply

from andon.config.loader import load_config
from andon.config.problems import InvalidConfig
from andon.engine.pipeline import Outcome, run_version
from andon.versions.canonical import build_version
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


def write(root: Path, base_url: str, flow: dict[str, Any], **top: Any) -> None:
    (root / "flow_shop.py").write_text(TOOLS_MODULE, encoding="utf-8")
    config = {
        "name": "flows",
        "providers": {
            "stub": {"type": "openai", "base_url": base_url, "api_key": "sk", "model": "stub-model", "max_retries": 0}
        },
        "features": {"support": {"versions": {"v1": flow}}},
        **top,
    }
    (root / "andon.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")


@pytest.fixture
def stub() -> Iterator[ThreadedStub]:
    with ThreadedStub(echo=True) as server:
        yield server


def run(root: Path, variables: dict[str, Any] | None = None) -> tuple[Outcome, list[dict[str, Any]]]:
    sys.path.insert(0, str(root))  # the workspace's tools module, as `andon` run there would import it
    try:
        with Workspace.open(root) as ws:

            async def once() -> Outcome:
                try:
                    scope = variables or {"input": "my bike arrived broken", "customer": "Minji"}
                    return await run_version(ws.version("support", "v1"), scope, ws)
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
