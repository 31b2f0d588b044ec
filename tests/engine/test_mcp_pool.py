"""MCP sessions shared across a run (engine.mcp_pool), against the real shop server (tests/support/mcp_shop.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.stub import Scripted
from pydantic import ValidationError
from tests.support.loopback_http import free_port
from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply

import andon
from andon.config.tools import McpServer, McpTools
from andon.engine import mcp_pool, mcp_tools
from andon.engine.mcp_pool import SessionPool, close_process_pool, open_process_pool, session_pool
from andon.engine.mcp_tools import McpServerError, serving
from andon.engine.pipeline import Outcome, run_version
from andon.workspace import Workspace

pytest.importorskip("mcp")
pytestmark = pytest.mark.timeout(180)

SERVER = Path(__file__).resolve().parents[1] / "support" / "mcp_shop.py"
# Starts the shop the first time; exits at once when started again (MARK exists): a server that cannot be reopened.
ONCE = (
    "import os, runpy, sys; mark = os.environ['MARK']; os.path.exists(mark) and sys.exit(3); "
    "open(mark, 'w').close(); sys.argv = [sys.argv[1]]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def shop(calls: Path, **env: str) -> dict[str, Any]:
    return {"mcp": {"command": [sys.executable, str(SERVER)], "env": {"SHOP_CALLS": str(calls), **env}}}


def write(root: Path, base_url: str, source: dict[str, Any], **feature: Any) -> None:
    step = {"name": "main", "provider": "stub", "prompt": "{{ input }}", "tools": [source], "max_tool_calls": 5}
    config = {
        "name": "pool",
        "providers": {
            "stub": {"type": "openai", "base_url": base_url, "api_key": "sk", "model": "stub-model", "max_retries": 0}
        },
        "features": {"shop": {"versions": {"v1": {"steps": [step]}}, **feature}},
    }
    (root / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")


def pids(calls: Path) -> list[str]:
    return [line.split()[0] for line in calls.read_text(encoding="utf-8").splitlines()]


def results_of(body: dict[str, Any]) -> dict[str, str]:
    return {m["tool_call_id"]: m["content"] for m in body["messages"] if m["role"] == "tool"}


@pytest.fixture
def stub() -> Iterator[ThreadedStub]:
    with ThreadedStub(echo=True) as server:
        yield server


def lookup(call_id: str) -> Scripted:
    return tool_calls_reply(tool_call(call_id, "lookup_order", {"order_id": "A1"}))


def steps_in_a_pool(root: Path, count: int) -> tuple[list[Outcome], int]:
    """Run the version ``count`` times in one pool: the outcomes and how many sessions the pool opened."""
    with Workspace.open(root) as ws:

        async def go() -> tuple[list[Outcome], int]:
            try:
                async with session_pool() as pool:
                    outcomes = [await run_version(ws.version("shop", "v1"), {"input": "A1?"}, ws) for _ in range(count)]
                    return outcomes, pool.opens
            finally:
                await ws.aclose_providers()

        return asyncio.run(go())


def test_steps_in_one_pool_share_one_server_process(tmp_path: Path, stub: ThreadedStub) -> None:
    calls = tmp_path / "calls.txt"
    write(tmp_path, stub.base_url, shop(calls))
    stub.program(*[r for n in range(3) for r in (lookup(f"c{n}"), Scripted(content=f"shipped {n}"))])
    outcomes, opens = steps_in_a_pool(tmp_path, 3)
    assert [o.output_text for o in outcomes] == ["shipped 0", "shipped 1", "shipped 2"]
    assert opens == 1 and len(pids(calls)) == 3 and len(set(pids(calls))) == 1


def test_an_evaluation_run_opens_each_server_once_for_all_its_cells(tmp_path: Path, stub: ThreadedStub) -> None:
    calls = tmp_path / "calls.txt"
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps({"vars": {"input": f"q{n}"}}) + "\n" for n in range(3)))
    write(tmp_path, stub.base_url, shop(calls), dataset="cases.jsonl", graders=[{"type": "contains", "value": "ok"}])
    stub.program(*[r for n in range(3) for r in (lookup(f"c{n}"), Scripted(content=f"ok {n}"))])
    report = andon.evaluate("shop", workspace=tmp_path, concurrency=1, use_cache=False)
    assert [c.status for c in report.cells] == ["ok"] * 3 and all(c.passed for c in report.cells)
    assert len(pids(calls)) == 3 and len(set(pids(calls))) == 1  # one process served the three cells


def test_concurrent_steps_open_a_server_once_and_calls_on_it_are_serialised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mcp_pool, "_IDLE_S", 0.0)  # every step probes the live session: it is kept, not reopened
    calls = tmp_path / "calls.txt"
    source = McpTools.model_validate(shop(calls) | {"include": ["lookup_order"]})

    async def go() -> tuple[list[str], int]:
        async with session_pool() as pool:

            async def step(n: int) -> list[str]:
                async with serving([source], f"step {n}") as served:
                    call = served.remote["lookup_order"]
                    return [await call({"order_id": "A1" if k % 2 else "B2"}) for k in range(3)]

            answers = await asyncio.gather(*(step(n) for n in range(8)))
            return [a for group in answers for a in group], pool.opens

    answers, opens = asyncio.run(go())
    assert opens == 1 and len(answers) == 24
    assert {json.loads(a)["status"] for a in answers} == {"shipped", "packing"}
    assert len(pids(calls)) == 24 and len(set(pids(calls))) == 1


def test_a_dead_server_is_reopened_once_for_the_next_call(tmp_path: Path, stub: ThreadedStub) -> None:
    calls = tmp_path / "calls.txt"
    write(tmp_path, stub.base_url, shop(calls))
    stub.program(
        tool_calls_reply(tool_call("c1", "crash", {})),
        lookup("c2"),
        Scripted(content="Back up."),
    )
    (outcome,), opens = steps_in_a_pool(tmp_path, 1)
    assert (outcome.status, outcome.output_text) == ("ok", "Back up."), outcome.error
    results = results_of(stub.received[-1].body)
    assert "tool 'crash' failed" in json.loads(results["c1"])["error"]  # the call in flight is not repeated
    assert json.loads(results["c2"]) == {"status": "shipped", "eta": "tomorrow"}  # over the reopened session
    assert opens == 2 and len(set(pids(calls))) == 2


def test_a_server_that_cannot_be_reopened_errors_as_when_it_cannot_start(tmp_path: Path, stub: ThreadedStub) -> None:
    calls = tmp_path / "calls.txt"
    source = {
        "mcp": {
            "command": [sys.executable, "-c", ONCE, str(SERVER)],
            "env": {"SHOP_CALLS": str(calls), "MARK": str(tmp_path / "started")},
        }
    }
    write(tmp_path, stub.base_url, source)
    stub.program(tool_calls_reply(tool_call("c1", "crash", {})), Scripted(content="Down."))
    first, second = steps_in_a_pool(tmp_path, 2)[0]
    assert (first.status, first.output_text) == ("ok", "Down.")
    assert second.status == "error" and "cannot start the MCP server" in (second.error or "")


def test_the_process_pool_serves_its_own_loop_and_closes(tmp_path: Path) -> None:
    calls = tmp_path / "calls.txt"
    source = McpTools.model_validate(shop(calls) | {"include": ["lookup_order"]})
    seen_elsewhere: list[object] = []

    async def go() -> int:
        pool = open_process_pool()
        other = threading.Thread(target=lambda: seen_elsewhere.append(asyncio.run(_current())))
        other.start()
        other.join(30)
        assert mcp_tools.current_pool() is pool
        for _ in range(2):
            async with serving([source]) as served:
                await served.remote["lookup_order"]({"order_id": "A1"})
        await close_process_pool(pool)
        assert mcp_tools.current_pool() is None
        return pool.opens

    assert asyncio.run(go()) == 1
    assert seen_elsewhere == [None]  # another event loop (another app) does not use this one's sessions
    assert len(set(pids(calls))) == 1


async def _current() -> object:
    return mcp_tools.current_pool()


def test_a_closed_pool_is_not_used(tmp_path: Path) -> None:
    async def go() -> bool:
        pool = SessionPool()
        await pool.aclose()
        return pool.usable()

    assert asyncio.run(go()) is False


def test_a_url_server_on_a_private_address_is_refused_unless_allowed() -> None:
    port = free_port()  # nothing listens: a refusal is decided before any connection

    async def open_(server: McpServer) -> None:
        async with serving([McpTools(mcp=server)], "tools[0]"):
            pass

    with pytest.raises(McpServerError) as refused:
        asyncio.run(open_(McpServer(url=f"http://127.0.0.1:{port}/mcp")))
    assert "127.0.0.1 (loopback)" in str(refused.value) and "allowed_networks" in (refused.value.hint or "")
    assert refused.value.where == "tools[0]"
    with pytest.raises(McpServerError) as unreachable:
        asyncio.run(open_(McpServer(url=f"http://127.0.0.1:{port}/mcp", allowed_networks=["127.0.0.0/8"])))
    assert "loopback" not in str(unreachable.value)  # allowed: it tried to connect, and nothing answered
    with pytest.raises(McpServerError, match="link-local"):
        asyncio.run(open_(McpServer(url="http://169.254.169.254/mcp", allowed_networks=["10.0.0.0/8"])))


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ({"command": ["x"], "allowed_networks": ["10.0.0.0/8"]}, "not to a `command`"),
        ({"url": "http://a.example/mcp", "allowed_networks": ["ten"]}, "'ten'"),
    ],
)
def test_allowed_networks_is_checked_with_the_config(server: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        McpServer.model_validate(server)


def test_a_server_that_died_while_idle_is_reopened_before_the_next_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mcp_pool, "_IDLE_S", 0.0)  # ping before every step
    calls = tmp_path / "calls.txt"
    source = McpTools.model_validate(shop(calls) | {"include": ["lookup_order"]})

    async def go() -> tuple[list[str], int]:
        async with session_pool() as pool:
            answers = []
            for _ in range(2):
                async with serving([source]) as served:
                    answers.append(await served.remote["lookup_order"]({"order_id": "A1"}))
                os.kill(int(pids(calls)[-1]), signal.SIGKILL)  # the server dies between steps
                await asyncio.sleep(0.2)
            return answers, pool.opens

    answers, opens = asyncio.run(go())
    assert [json.loads(a)["status"] for a in answers] == ["shipped", "shipped"]  # no call failed on a dead session
    assert opens == 2 and len(set(pids(calls))) == 2
