"""A flow version promoted and served: /v1/chat/completions (`feature:NAME`) and the invoke route, with spans."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from tests.support.gateway_server import GatewayServer, write_workspace
from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply

from andon.deploy import live_version
from andon.gateway.auth import create_key
from andon.store import Store
from andon.store.db import DATABASE_URL_ENV
from andon.workspace import Workspace

pytestmark = pytest.mark.timeout(300)

SUPPORT: dict[str, Any] = {
    "versions": {
        "desk": {
            "entry": "triage",
            "agents": {
                "triage": {
                    "provider": "stub",
                    "instructions": "Route the customer.",
                    "messages": "{{ history }}",
                    "handoffs": ["order"],
                },
                "order": {"provider": "stub", "instructions": "Answer about orders.", "handoffs": ["triage"]},
            },
            "limits": {"max_turns": 4},
        }
    },
    "serve": {"data_use": {"inputs": "full"}},
}
HISTORY = [{"role": "user", "content": "where is A1?"}]


def test_a_flow_version_is_promoted_and_served_on_both_routes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    with Store.open(url) as store:
        _record, secret = create_key(store, "chat-app", ["invoke"], None)
    with ThreadedStub(echo=True) as stub:
        ws = write_workspace(tmp_path / "ws", stub_url=stub.base_url, features={"support": SUPPORT})
        stub.program(
            tool_calls_reply(tool_call("h1", "transfer_to_order", {"reason": "order status"})),
            tool_calls_reply(content="A1 ships today."),  # no calls: the order agent's answer
            tool_calls_reply(tool_call("h2", "transfer_to_order", {})),
            tool_calls_reply(content="A1 ships today, again."),
        )
        with GatewayServer(ws, database_url=url) as server:  # force-promotes `desk`, as an operator would
            with Workspace.open(ws, database_url=url) as opened:
                live = live_version(opened, "support")
                assert live.version_id == opened.version("support", "desk").id
            http = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=secret, max_retries=0, timeout=60)
            raw = http.chat.completions.with_raw_response.create(model="feature:support", messages=HISTORY)  # type: ignore[arg-type]
            assert raw.parse().choices[0].message.content == "A1 ships today."
            http.close()
            answer = httpx.post(
                f"{server.base_url}/v1/features/support/invoke",
                json={"variables": {"history": HISTORY}},
                headers={"authorization": f"Bearer {secret}"},
                timeout=60,
            )
            assert answer.status_code == 200, answer.text
            assert (answer.json()["output_text"], answer.json()["version_name"]) == ("A1 ships today, again.", "desk")
        order_sent = stub.received[1].body
        assert order_sent["messages"][0] == {"role": "system", "content": "Answer about orders."}
        assert [t["function"]["name"] for t in order_sent["tools"]] == ["transfer_to_triage"]
    first = raw.headers["x-andon-trace-id"]
    with Store.open(url) as store:
        spans = store.list_spans(first)
    kinds = [(s.kind, s.name) for s in spans]
    assert ("agent", "invoke_agent triage") in kinds and ("agent", "invoke_agent order") in kinds
    assert ("handoff", "handoff triage -> order") in kinds
    by_id = {s.id: s for s in spans}
    handoff = next(s for s in spans if s.kind == "handoff")
    assert by_id[handoff.parent_id or ""].name == "invoke_agent triage"
    assert handoff.attributes["andon.handoff.reason"] == "order status"
    shown = subprocess.run(
        [sys.executable, "-m", "andon", "--workspace", str(ws), "traces", "show", first],
        env={**os.environ, DATABASE_URL_ENV: url, "ANDON_LANG": "en", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    tree = shown.stdout[shown.stdout.index("Spans") :].splitlines()
    assert tree[1].startswith("invoke_agent support  [call]  ok")
    assert tree[2].startswith("  └─ invoke_agent triage  [agent]  ok")
    assert any(line.startswith("    └─ handoff triage -> order  [handoff]") for line in tree)
    assert any(line.startswith("  └─ invoke_agent order  [agent]  ok") for line in tree)
