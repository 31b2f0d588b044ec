"""The gateway process keeps one MCP session per server across its requests (engine.mcp_pool, a real `andon serve`)."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from bench.stub import Scripted
from tests.support.gateway_server import GatewayServer, write_workspace
from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply

from andon.gateway.auth import create_key
from andon.store import Store

pytest.importorskip("mcp")
pytestmark = pytest.mark.timeout(240)

SERVER = Path(__file__).resolve().parents[1] / "support" / "mcp_shop.py"


def test_requests_to_one_gateway_share_the_mcp_server_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    calls = tmp_path / "calls.txt"
    source = {"mcp": {"command": [sys.executable, str(SERVER)], "env": {"SHOP_CALLS": str(calls)}}}
    step = {"name": "main", "provider": "stub", "prompt": "{{ input }}", "tools": [source], "max_tool_calls": 3}
    with Store.open(url) as store:
        _record, secret = create_key(store, "shop-app", ["invoke"], None)
    with ThreadedStub(echo=True) as stub:
        ws = write_workspace(
            tmp_path / "ws", stub_url=stub.base_url, features={"shop": {"versions": {"v1": {"steps": [step]}}}}
        )
        lookup = tool_calls_reply(tool_call("c1", "lookup_order", {"order_id": "A1"}))
        stub.program(lookup, Scripted(content="first"), lookup, Scripted(content="second"))
        with GatewayServer(ws, database_url=url) as server:
            answers = [
                httpx.post(
                    f"{server.base_url}/v1/features/shop/invoke",
                    json={"variables": {"input": f"where is A1? ({n})"}},
                    headers={"authorization": f"Bearer {secret}"},
                    timeout=120,
                )
                for n in range(2)
            ]
    assert [a.status_code for a in answers] == [200, 200], answers[-1].text
    assert [a.json()["output_text"] for a in answers] == ["first", "second"]
    pids = [line.split()[0] for line in calls.read_text(encoding="utf-8").splitlines()]
    assert len(pids) == 2 and len(set(pids)) == 1  # one server process served both requests
