"""Tools from a real MCP server (tests/support/mcp_shop.py) over stdio and streamable HTTP, called by the model.

The model is the loopback stub, scripted to call the server's tools; the server is the `mcp` package's own
MCPServer started by the test, so the session, listing and calls are the official client's and server's.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.stub import Scripted
from pydantic import ValidationError
from tests.support.loopback_http import free_port
from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply

from andon.config.loader import load_config
from andon.config.problems import InvalidConfig
from andon.config.tools import McpServer, McpTools
from andon.engine.pipeline import run_version
from andon.workspace import Workspace

pytest.importorskip("mcp")
pytestmark = pytest.mark.timeout(120)

SERVER = Path(__file__).resolve().parents[1] / "support" / "mcp_shop.py"
DIES = "import sys; sys.stderr.write('db password missing'); exit(3)"  # a server that exits while starting


def write(root: Path, base_url: str, tools: list[dict[str, Any]], max_calls: int = 10) -> None:
    step = {"name": "main", "provider": "stub", "system": "You help buyers.", "prompt": "{{ input }}"}
    config = {
        "name": "mcp",
        "providers": {
            "stub": {"type": "openai", "base_url": base_url, "api_key": "sk", "model": "stub-model", "max_retries": 0}
        },
        "features": {"shop": {"versions": {"v1": {"steps": [{**step, "tools": tools, "max_tool_calls": max_calls}]}}}},
    }
    (root / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")


def run(root: Path) -> Any:
    with Workspace.open(root) as ws:

        async def once() -> Any:
            try:
                return await run_version(ws.version("shop", "v1"), {"input": "where is A1?"}, ws)
            finally:
                await ws.aclose_providers()

        return asyncio.run(once())


def stdio_source(calls: Path, **more: Any) -> dict[str, Any]:
    return {"mcp": {"command": [sys.executable, str(SERVER)], "env": {"SHOP_CALLS": str(calls)}}, **more}


def test_pass_env_hands_andons_variable_to_the_server(
    tmp_path: Path, stub: ThreadedStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = tmp_path / "passed.txt"
    monkeypatch.setenv("SHOP_CALLS", str(calls))  # not in the server's environment unless passed
    source = {"mcp": {"command": [sys.executable, str(SERVER)], "pass_env": ["SHOP_CALLS", "ANDON_TEST_UNSET"]}}
    write(tmp_path, stub.base_url, [source])
    stub.program(tool_calls_reply(tool_call("c1", "lookup_order", {"order_id": "A1"})), Scripted(content="Shipped."))
    outcome = run(tmp_path)
    assert outcome.status == "ok", outcome.error
    assert calls.read_text(encoding="utf-8").split()[1] == "lookup_order"  # the server saw the variable


@pytest.fixture
def stub() -> Iterator[ThreadedStub]:
    with ThreadedStub(echo=True) as server:
        yield server


def results_of(body: dict[str, Any]) -> dict[str, str]:
    return {m["tool_call_id"]: m["content"] for m in body["messages"] if m["role"] == "tool"}


def test_a_stdio_servers_tools_are_offered_and_called_over_one_session(tmp_path: Path, stub: ThreadedStub) -> None:
    calls = tmp_path / "calls.txt"
    own = {"name": "ping", "python": "json:dumps", "parameters": {"type": "object", "properties": {}}}
    source = stdio_source(calls, include=["lookup_order", "out_of_stock", "slow"], timeout_s=0.5)
    write(tmp_path, stub.base_url, [own, source])
    stub.program(
        tool_calls_reply(
            tool_call("c1", "lookup_order", {"order_id": "A1"}),
            tool_call("c2", "lookup_order", {"order_id": 5}),  # fails the server's own input schema, never sent
            tool_call("c3", "out_of_stock", {"sku": "bike"}),
        ),
        tool_calls_reply(tool_call("c4", "slow", {}), tool_call("c5", "lookup_order", {"order_id": "B2"})),
        Scripted(content="A1 ships tomorrow."),
    )
    outcome = run(tmp_path)
    assert (outcome.status, outcome.output_text) == ("ok", "A1 ships tomorrow."), outcome.error
    first, _second, third = (r.body for r in stub.received)
    offered = {d["function"]["name"]: d["function"] for d in first["tools"]}
    assert list(offered) == ["ping", "lookup_order", "out_of_stock", "slow"]  # `crash` is not in `include`
    assert offered["lookup_order"]["description"] == "Find an order by its id"
    assert offered["lookup_order"]["parameters"]["properties"]["order_id"]["type"] == "string"
    results = results_of(third)
    assert json.loads(results["c1"]) == {"status": "shipped", "eta": "tomorrow"}
    assert "schema" in json.loads(results["c2"])["error"]
    assert "bike is out of stock" in json.loads(results["c3"])["error"]
    assert "did not answer within 0.5 s" in json.loads(results["c4"])["error"]
    assert json.loads(results["c5"]) == {"status": "packing"}  # the session outlives a timed-out call
    # One server process served every call of the step; the schema-failing call never reached it.
    lines = [line.split() for line in calls.read_text(encoding="utf-8").splitlines()]
    assert [tool for _pid, tool in lines] == ["lookup_order", "out_of_stock", "slow", "lookup_order"]
    assert len({pid for pid, _tool in lines}) == 1
    (step,) = outcome.steps
    assert [c["error"] is None for c in step.tools or []] == [True, False, False, False, True]


def test_a_server_that_dies_mid_call_is_a_tool_error_not_a_crash(tmp_path: Path, stub: ThreadedStub) -> None:
    write(tmp_path, stub.base_url, [stdio_source(tmp_path / "calls.txt")])
    stub.program(
        tool_calls_reply(tool_call("c1", "crash", {})),
        tool_calls_reply(tool_call("c2", "lookup_order", {"order_id": "A1"})),
        Scripted(content="Sorry, the shop is down."),
    )
    outcome = run(tmp_path)
    assert (outcome.status, outcome.output_text) == ("ok", "Sorry, the shop is down."), outcome.error
    results = results_of(stub.received[-1].body)
    assert "tool 'crash' failed" in json.loads(results["c1"])["error"]
    assert "tool 'lookup_order' failed" in json.loads(results["c2"])["error"]  # the session is gone


def test_the_tool_call_limit_ends_the_step_and_closes_the_session(tmp_path: Path, stub: ThreadedStub) -> None:
    write(tmp_path, stub.base_url, [stdio_source(tmp_path / "calls.txt")], max_calls=1)
    call = tool_calls_reply(tool_call("c1", "lookup_order", {"order_id": "A1"}))
    stub.program(call, call)
    outcome = run(tmp_path)
    assert outcome.status == "error" and "max_tool_calls" in (outcome.error or "")
    assert [c["call_id"] for c in outcome.steps[0].tools or []] == ["c1"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"mcp": {"command": ["andon-no-such-mcp-server"]}}, ["cannot start the MCP server", "andon-no-such"]),
        (
            {"mcp": {"command": [sys.executable, "-c", DIES]}},
            ["cannot start the MCP server", "db password missing"],
        ),
        ("include", ["has no tool 'lookup_orders'", "lookup_order, out_of_stock"]),
    ],
    ids=["command-not-found", "exits-at-start", "tool-not-on-server"],
)
def test_bad_server_config_fails_the_step_with_a_clear_error(
    tmp_path: Path, stub: ThreadedStub, source: Any, expected: list[str]
) -> None:
    if source == "include":
        source = stdio_source(tmp_path / "calls.txt", include=["lookup_order", "lookup_orders"])
    source["mcp"]["startup_timeout_s"] = 20
    write(tmp_path, stub.base_url, [source])
    outcome = run(tmp_path)
    assert outcome.status == "error"
    assert (outcome.error or "").startswith("steps.main: ")
    for text in expected:
        assert text in (outcome.error or "")
    assert "Traceback" not in (outcome.error or "")
    assert stub.received == []  # the model is not called with a half-built set of tools


def test_server_config_is_checked() -> None:
    with pytest.raises(ValidationError, match="exactly one of `command`"):
        McpServer()
    with pytest.raises(ValidationError, match="exactly one of `command`"):
        McpServer(command=["x"], url="http://127.0.0.1/mcp")
    with pytest.raises(ValidationError, match="only to an MCP server started by `command`"):
        McpServer(url="http://127.0.0.1/mcp", env={"A": "1"})
    assert McpTools(mcp=McpServer(url="https://tools.example/mcp")).mcp.label == "https://tools.example/mcp"


def test_a_bad_tool_entry_in_andon_yaml_names_its_line_and_field(tmp_path: Path) -> None:
    tools = [{"name": "ok", "python": "a:b"}, {"mcp": {"command": ["x"], "url": "http://a/mcp"}, "includ": ["a"]}]
    write(tmp_path, "http://127.0.0.1:9/v1", tools)
    with pytest.raises(InvalidConfig) as info:
        load_config(tmp_path / "andon.yaml")
    fields = {p.field: p for p in info.value.problems}
    assert set(fields) == {
        "features.shop.versions.v1.steps[0].tools[1].mcp",
        "features.shop.versions.v1.steps[0].tools[1].includ",
    }
    assert "exactly one of `command`" in fields["features.shop.versions.v1.steps[0].tools[1].mcp"].message
    assert "include" in (fields["features.shop.versions.v1.steps[0].tools[1].includ"].hint or "")


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {"SHOP_CALLS": str(tmp_path / "http_calls.txt"), "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--http", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the MCP server did not start: {process.stderr.read() if process.stderr else ''!r}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


def test_a_streamable_http_servers_tool_is_called(tmp_path: Path, stub: ThreadedStub, http_server: str) -> None:
    source = {"mcp": {"url": http_server, "allowed_networks": ["127.0.0.1/32"]}, "include": ["lookup_order"]}
    write(tmp_path, stub.base_url, [source])
    stub.program(tool_calls_reply(tool_call("c1", "lookup_order", {"order_id": "A1"})), Scripted(content="Shipped."))
    outcome = run(tmp_path)
    assert (outcome.status, outcome.output_text) == ("ok", "Shipped."), outcome.error
    assert [d["function"]["name"] for d in stub.received[0].body["tools"]] == ["lookup_order"]
    assert json.loads(results_of(stub.received[1].body)["c1"]) == {"status": "shipped", "eta": "tomorrow"}
    assert (tmp_path / "http_calls.txt").read_text(encoding="utf-8").split()[1] == "lookup_order"
