"""Tool calling against the loopback stub: native OpenAI tool calls, tool errors sent back, limits, provenance."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from bench.stub import Scripted
from pydantic import ValidationError
from tests.support.loopback_http import LoopbackHttp
from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply

from andon.config.tools import ToolSpec
from andon.engine.pipeline import run_version
from andon.workspace import Workspace

pytestmark = pytest.mark.timeout(120)
LOOPBACK = ["127.0.0.1/32"]  # the remote tool runs on loopback, which HTTP tools may reach only when allowed

TOOLS_MODULE = '''\
"""Tools of the test shop."""
import threading

ORDERS = {"A1": {"status": "shipped", "eta": "tomorrow"}}
CALLS = []


def lookup_order(order_id):
    CALLS.append(order_id)
    return ORDERS.get(order_id, {"status": "unknown"})


def hang():
    threading.Event().wait(60)  # never answers within its timeout


def big():
    return "x" * 500


def broken(reason="boom"):
    raise RuntimeError(reason)
'''


class Remote(LoopbackHttp):
    """An HTTP tool: answers the JSON it was sent, wrapped."""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                sent = json.loads(self.rfile.read(int(self.headers["content-length"])))
                body = json.dumps({"stock": sent["sku"], "left": 3}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def write(root: Path, base_url: str, remote_url: str, max_calls: int, kind: str = "openai") -> None:
    (root / "shop_tools.py").write_text(TOOLS_MODULE, encoding="utf-8")
    order = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}
    tools = [
        {
            "name": "lookup_order",
            "description": "Find an order",
            "parameters": order,
            "python": "shop_tools:lookup_order",
        },
        {"name": "slow", "python": "shop_tools:hang", "timeout_s": 0.3},
        {"name": "big", "python": "shop_tools:big", "max_result_chars": 50},
        {"name": "broken", "python": "shop_tools:broken"},
        {
            "name": "stock",
            "http": f"{remote_url}/stock",
            "parameters": {"type": "object"},
            "allowed_networks": LOOPBACK,
        },
    ]
    step = {"name": "main", "provider": "stub", "system": "You help buyers.", "prompt": "{{ input }}"}
    config = {
        "name": "tools",
        "providers": {
            "stub": {"type": kind, "base_url": base_url, "api_key": "sk", "model": "stub-model", "max_retries": 0}
        },
        "features": {"shop": {"versions": {"v1": {"steps": [{**step, "tools": tools, "max_tool_calls": max_calls}]}}}},
    }
    (root / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")


@pytest.fixture
def servers() -> Iterator[tuple[ThreadedStub, Remote]]:
    with ThreadedStub(echo=True) as stub, Remote() as remote:
        yield stub, remote


def run(root: Path) -> Any:
    import sys

    sys.path.insert(0, str(root))  # the workspace's tools module, as `andon` run there would import it
    try:
        with Workspace.open(root) as ws:

            async def once() -> Any:
                try:
                    return await run_version(ws.version("shop", "v1"), {"input": "where is A1?"}, ws)
                finally:
                    await ws.aclose_providers()  # on this loop, where their connections live

            return asyncio.run(once())
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("shop_tools", None)


def test_calls_run_and_every_failure_goes_back_to_the_model(
    tmp_path: Path, servers: tuple[ThreadedStub, Remote]
) -> None:
    stub, remote = servers
    write(tmp_path, stub.base_url, remote.url, max_calls=10)
    stub.program(
        tool_calls_reply(
            tool_call("c1", "lookup_order", {"order_id": "A1"}),
            tool_call("c2", "nope", {}),
            tool_call("c3", "lookup_order", '{"order_id": '),
            tool_call("c4", "lookup_order", {"order_id": 5}),
        ),
        tool_calls_reply(
            tool_call("c5", "slow", {}),
            tool_call("c6", "big", {}),
            tool_call("c7", "broken", {"reason": "db down"}),
            tool_call("c8", "stock", {"sku": "bike"}),
        ),
        Scripted(content="A1 ships tomorrow."),
    )
    outcome = run(tmp_path)
    assert (outcome.status, outcome.output_text) == ("ok", "A1 ships tomorrow.")
    first, _second, third = (r.body for r in stub.received)
    assert [t["function"]["name"] for t in first["tools"]] == ["lookup_order", "slow", "big", "broken", "stock"]
    assert first["tools"][0]["function"]["parameters"]["required"] == ["order_id"]
    sent = third["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", *["tool"] * 4, "assistant", *["tool"] * 4]
    results = {m["tool_call_id"]: m["content"] for m in sent if m["role"] == "tool"}
    assert json.loads(results["c1"]) == {"status": "shipped", "eta": "tomorrow"}
    assert "unknown tool 'nope'" in json.loads(results["c2"])["error"]
    assert "not a JSON object" in json.loads(results["c3"])["error"]
    assert "order_id" in json.loads(results["c4"])["error"] and "schema" in json.loads(results["c4"])["error"]
    assert "did not answer within 0.3 s" in json.loads(results["c5"])["error"]
    assert results["c6"].startswith("x" * 50) and "cut at 50 characters" in results["c6"]
    assert "RuntimeError: db down" in json.loads(results["c7"])["error"]
    assert json.loads(results["c8"]) == {"stock": "bike", "left": 3}
    assert sent[2]["tool_calls"][0]["function"]["name"] == "lookup_order"
    # Provenance: every message of the step, and a log of each call; tokens are summed over the three calls.
    (step,) = outcome.steps
    assert [m["role"] for m in step.messages] == [m["role"] for m in sent]
    assert [c["call_id"] for c in step.tools or []] == [f"c{i}" for i in range(1, 9)]
    assert [c["error"] is None for c in step.tools or []] == [True, False, False, False, False, True, False, True]
    assert step.input_tokens > 10 + 10 and step.output_tokens > 3 + 3  # the last call's usage added to the two


def test_too_many_tool_calls_end_the_step_with_its_reason(tmp_path: Path, servers: tuple[ThreadedStub, Remote]) -> None:
    stub, remote = servers
    write(tmp_path, stub.base_url, remote.url, max_calls=1)
    stub.program(
        tool_calls_reply(tool_call("c1", "lookup_order", {"order_id": "A1"})),
        tool_calls_reply(tool_call("c2", "lookup_order", {"order_id": "A1"})),
    )
    outcome = run(tmp_path)
    assert outcome.status == "error" and "max_tool_calls" in (outcome.error or "")
    (step,) = outcome.steps
    assert [c["call_id"] for c in step.tools or []] == ["c1"]  # the first call ran; the second was refused
    assert [m["role"] for m in step.messages] == ["system", "user", "assistant", "tool"]
    assert len(stub.received) == 2


def test_anthropic_tool_use_blocks_round_trip(tmp_path: Path, servers: tuple[ThreadedStub, Remote]) -> None:
    stub, remote = servers
    write(tmp_path, stub.base_url, remote.url, max_calls=4, kind="anthropic")
    uses = [
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "tu1", "name": "lookup_order", "input": {"order_id": "A1"}},
        {"type": "tool_use", "id": "tu2", "name": "lookup_order", "input": {"order_id": 7}},
    ]
    reply = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude", "content": uses}
    reply |= {"stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 5}}
    stub.program(Scripted(body=reply), Scripted(content="A1 has shipped."))
    outcome = run(tmp_path)
    assert (outcome.status, outcome.output_text) == ("ok", "A1 has shipped.")
    first, second = (r.body for r in stub.received)
    assert first["tools"][0] == {
        "name": "lookup_order",
        "description": "Find an order",
        "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    }
    assert first["system"] == "You help buyers."
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]  # results in one turn
    assert [b["type"] for b in second["messages"][1]["content"]] == ["text", "tool_use", "tool_use"]
    results = {b["tool_use_id"]: b["content"] for b in second["messages"][2]["content"]}
    assert json.loads(results["tu1"]) == {"status": "shipped", "eta": "tomorrow"}
    assert "schema" in json.loads(results["tu2"])["error"]


def test_tool_definitions_are_checked() -> None:
    with pytest.raises(ValidationError, match="exactly one of"):
        ToolSpec(name="t")
    with pytest.raises(ValidationError, match="type object"):
        ToolSpec(name="t", python="m:f", parameters={"type": "string"})
    with pytest.raises(ValidationError):
        ToolSpec(name="has space", python="m:f")
