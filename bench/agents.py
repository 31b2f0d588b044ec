"""Issue 14 figures: OTLP ingest spans/s into durable storage, and the tool loop's cost per tool round-trip.

    nice -n 10 .venv/bin/python -m bench.agents [--traces 200] [--spans 25] [--calls 50] [--database-url URL]

Ingest: ``ingest_otlp`` + one ``save_traces`` transaction per export request (as the endpoint does), into a
fresh SQLite file (WAL, durable) or the given database. Tool loop: ``run_version`` on a one-step version whose
model (the loopback stub, in process) calls a Python tool ``k`` times before answering; the figure is the
median added wall time per round-trip (model call + tool + bookkeeping) over the no-tool step.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from andon.agents.otlp import ingest_otlp
from andon.engine.pipeline import run_version
from andon.store import Store
from andon.workspace import Workspace
from bench.stub import Scripted, StubServer


def otlp_body(index: int, spans: int) -> dict[str, Any]:
    """One export request: a trace of ``spans`` GenAI spans (a root, then chat spans under it)."""
    trace = f"{index:032x}"
    start = 1_764_000_000_000_000_000 + index * 1_000_000_000
    out = []
    for n in range(spans):
        attrs = [{"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent" if n == 0 else "chat"}}]
        attrs += [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}}]
        attrs += [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "100"}}]
        out.append(
            {
                "traceId": trace,
                "spanId": f"{n + 1:016x}",
                "parentSpanId": "" if n == 0 else f"{1:016x}",
                "name": "chat gpt-4o",
                "startTimeUnixNano": str(start + n * 1000),
                "endTimeUnixNano": str(start + n * 1000 + 500),
                "attributes": attrs,
            }
        )
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "bench"}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": out}]}]}


def bench_ingest(url: str, traces: int, spans: int) -> dict[str, float]:
    bodies = [json.dumps(otlp_body(i, spans)) for i in range(traces)]
    with Store.open(url) as store:
        clock = time.perf_counter()
        for body in bodies:
            parsed = ingest_otlp(json.loads(body))
            store.save_traces(parsed.traces, spans=parsed.spans)
        elapsed = time.perf_counter() - clock
    return {"requests": traces, "spans": traces * spans, "seconds": elapsed, "spans_per_s": traces * spans / elapsed}


TOOLS = """
def ping(n=0):
    return {"pong": n}
"""


def tool_reply(k: int) -> Scripted:
    call = {"id": f"c{k}", "type": "function", "function": {"name": "ping", "arguments": json.dumps({"n": k})}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    body = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
    }
    return Scripted(body=body)


async def bench_tools(folder: Path, calls: int, rounds: int) -> dict[str, float]:
    stub = StubServer(reply="done")
    await stub.start()
    (folder / "bench_tools.py").write_text(TOOLS, encoding="utf-8")
    step = {"name": "main", "provider": "stub", "prompt": "{{ input }}"}
    tool = {"name": "ping", "python": "bench_tools:ping", "parameters": {"type": "object"}}
    config = {
        "name": "bench-tools",
        "providers": {
            "stub": {"type": "openai", "base_url": stub.base_url, "api_key": "k", "model": "m", "max_retries": 0}
        },
        "features": {
            "plain": {"versions": {"v": {"steps": [step]}}},
            "tools": {"versions": {"v": {"steps": [{**step, "tools": [tool], "max_tool_calls": calls + 1}]}}},
        },
    }
    (folder / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    sys.path.insert(0, str(folder))
    plain_ms, tool_ms = [], []
    with Workspace.open(folder, database_url=f"sqlite:///{folder / 'b.db'}") as ws:
        plain, tooled = ws.version("plain", "v"), ws.version("tools", "v")
        for r in range(rounds):
            clock = time.perf_counter()
            await run_version(plain, {"input": f"hi {r}"}, ws)
            plain_ms.append((time.perf_counter() - clock) * 1000)
            stub.program(*(tool_reply(k) for k in range(calls)))
            clock = time.perf_counter()
            outcome = await run_version(tooled, {"input": f"hi {r}"}, ws)
            tool_ms.append((time.perf_counter() - clock) * 1000)
            assert outcome.status == "ok", outcome.error
        await ws.aclose_providers()
    await stub.close()
    plain_median, tool_median = statistics.median(plain_ms), statistics.median(tool_ms)
    return {
        "plain_step_ms": plain_median,
        "tool_step_ms": tool_median,
        "tool_calls": calls,
        "ms_per_round_trip": (tool_median - plain_median) / calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=200)
    parser.add_argument("--spans", type=int, default=25)
    parser.add_argument("--calls", type=int, default=10, help="tool round-trips per step")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="andon-bench-agents-") as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'ingest.db'}"
        ingest = bench_ingest(url, args.traces, args.spans)
        tools = asyncio.run(bench_tools(folder, args.calls, args.rounds))
    print(json.dumps({"ingest": ingest, "tools": tools, "cpus": os.cpu_count()}, indent=2))


if __name__ == "__main__":
    main()
