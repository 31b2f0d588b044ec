"""Issue 14 figures: OTLP ingest spans/s into durable storage, and the added cost per tool round-trip and per handoff.

    nice -n 10 .venv/bin/python -m bench.agents [--traces 200] [--spans 25] [--calls 50] [--handoffs 5] [--rounds 20]

Ingest: ``ingest_otlp`` + one ``save_traces`` transaction per export request (as the endpoint does), into a
fresh SQLite file (WAL, durable) or the given database. Tool loop: ``run_version`` on a one-step version whose
model (the loopback stub, in process) calls a Python tool ``k`` times before answering; the figure is the
median added wall time per round-trip (model call + tool + bookkeeping) over the no-tool step. Handoffs:
``run_version`` on a flow of ``n + 1`` agents, each handing the conversation to the next, against the same
one-step version; the figure is the median added wall time per handoff (model call + handoff + the next agent's
rendering and bookkeeping).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from andon.agents.otlp import ingest_otlp, ingest_otlp_protobuf
from andon.engine.pipeline import run_version
from andon.store import Store
from andon.workspace import Workspace
from bench.gateway import Service, andon_env, free_port, wait_http
from bench.stub import Scripted, StubServer


def otlp_body(index: int, spans: int, run: int = 0) -> dict[str, Any]:
    """One export request: a trace of ``spans`` GenAI spans (a root, then chat spans under it); ``run`` sets the
    trace ids' high bits, so runs into one database do not collide."""
    trace = f"{run:016x}{index:016x}"
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


def protobuf_body(body: dict[str, Any]) -> bytes:
    """The same request protobuf-encoded (ids are bytes there; the JSON mapping of bytes is base64)."""
    from google.protobuf.json_format import ParseDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    for resource in body["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    span[key] = base64.b64encode(bytes.fromhex(span[key])).decode("ascii")
    return bytes(ParseDict(body, ExportTraceServiceRequest()).SerializeToString())


def request_bodies(traces: int, spans: int, encoding: str) -> list[bytes]:
    """``traces`` export requests of ``spans`` spans each, in ``encoding`` (json or protobuf)."""
    run = random.randrange(1 << 62)  # fresh trace ids: a database reused across runs gets new rows, not conflicts
    bodies = [otlp_body(i, spans, run) for i in range(traces)]
    if encoding == "protobuf":
        return [protobuf_body(b) for b in bodies]
    return [json.dumps(b).encode("utf-8") for b in bodies]


def _rates(spans: int, wall: float, cpu: float) -> dict[str, float]:
    return {
        "spans": spans,
        "seconds": round(wall, 3),
        "spans_per_s": round(spans / wall),
        "cpu_spans_per_s": round(spans / cpu),
    }


def bench_ingest(url: str, traces: int, spans: int, encoding: str = "json") -> dict[str, float]:
    """The endpoint's work without HTTP: decode, then one durable ``ingest_spans`` transaction per request."""
    bodies = request_bodies(traces, spans, encoding)
    with Store.open(url) as store:
        clock, cpu = time.perf_counter(), time.process_time()
        for body in bodies:
            parsed = ingest_otlp_protobuf(body) if encoding == "protobuf" else ingest_otlp(json.loads(body))
            store.ingest_spans(parsed.traces, parsed.spans)
        elapsed, used = time.perf_counter() - clock, time.process_time() - cpu
    return {"requests": traces, **_rates(traces * spans, elapsed, used)}


def start_serve(folder: Path, url: str) -> tuple[Service, str]:
    """`andon serve` (one worker, auth on) on a workspace with no features; returns it and its base URL."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"andon": 1, "name": "otlp-bench", "features": {}, "gateway": {"auth": True}}
    (folder / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    env = andon_env(url)
    andon = [sys.executable, "-m", "andon", "--workspace", str(folder)]
    created = subprocess.run(
        [*andon, "keys", "create", "otlp", "--scope", "invoke", "--json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    if created.returncode != 0:
        raise RuntimeError(f"andon keys create failed: {created.stderr}")
    secret = json.loads(created.stdout)["secret"]
    port, log = free_port(), folder / "serve.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*andon, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/readyz", process, 120, log)
    headers = {"authorization": f"Bearer {secret}"}
    return Service("andon serve", process, base + "/v1/otlp/v1/traces", headers, {}, log), secret


async def _post_all(service: Service, bodies: list[bytes], content_type: str, concurrency: int) -> float:
    import httpx

    headers = {**service.headers, "content-type": content_type}
    queue = list(reversed(bodies))
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=concurrency)) as http:
        await http.post(
            service.url,
            content=request_bodies(1, 2, "json")[0],
            headers={**headers, "content-type": "application/json"},
        )  # warm-up

        async def worker() -> None:
            while queue:
                answer = await http.post(service.url, content=queue.pop(), headers=headers)
                if answer.status_code != 200:
                    raise RuntimeError(f"{answer.status_code}: {answer.text[:300]}")

        clock = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - clock


def bench_ingest_http(
    folder: Path, url: str, traces: int, spans: int, encoding: str, concurrency: int
) -> dict[str, float]:
    """Through a real `andon serve` (one worker): ``concurrency`` clients post the requests; a 200 means stored."""
    import psutil

    service, _secret = start_serve(folder, url)
    try:
        bodies = request_bodies(traces, spans, encoding)
        content_type = "application/x-protobuf" if encoding == "protobuf" else "application/json"
        assert service.process is not None
        server = psutil.Process(service.process.pid)
        before = server.cpu_times()
        elapsed = asyncio.run(_post_all(service, bodies, content_type, concurrency))
        after = server.cpu_times()
        used = (after.user - before.user) + (after.system - before.system)
    finally:
        service.stop()
    return {"requests": traces, "concurrency": concurrency, **_rates(traces * spans, elapsed, used)}


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


def handoff_reply(target: str) -> Scripted:
    call = {"id": f"h-{target}", "type": "function", "function": {"name": f"transfer_to_{target}", "arguments": "{}"}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls"}
    return Scripted(body={"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": [choice]})


def chain_flow(handoffs: int) -> dict[str, Any]:
    """A flow of ``handoffs + 1`` agents, ``a0`` handing to ``a1`` and so on; the last one answers."""
    agents: dict[str, Any] = {}
    for n in range(handoffs + 1):
        agent: dict[str, Any] = {"instructions": f"You are desk {n}.", "prompt": "{{ input }}"}
        if n < handoffs:
            agent["handoffs"] = [f"a{n + 1}"]
        agents[f"a{n}"] = agent
    return {"entry": "a0", "agents": agents, "limits": {"max_turns": handoffs + 2}}


async def bench_handoffs(folder: Path, handoffs: int, rounds: int) -> dict[str, float]:
    """Median wall time of a flow with ``handoffs`` handoffs over a single-agent step, per handoff."""
    stub = StubServer(reply="done")
    await stub.start()
    provider = {"type": "openai", "base_url": stub.base_url, "api_key": "k", "model": "m", "max_retries": 0}
    step = {"name": "main", "provider": "stub", "system": "You are desk 0.", "prompt": "{{ input }}"}
    config = {
        "name": "bench-handoffs",
        "providers": {"stub": provider},
        "features": {
            "single": {"versions": {"v": {"steps": [step]}}},
            "chain": {"versions": {"v": chain_flow(handoffs)}},
        },
    }
    (folder / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    single_ms, flow_ms = [], []
    with Workspace.open(folder, database_url=f"sqlite:///{folder / 'h.db'}") as ws:
        single, chain = ws.version("single", "v"), ws.version("chain", "v")
        for r in range(rounds):
            clock = time.perf_counter()
            await run_version(single, {"input": f"hi {r}"}, ws)
            single_ms.append((time.perf_counter() - clock) * 1000)
            stub.program(*(handoff_reply(f"a{n + 1}") for n in range(handoffs)))
            clock = time.perf_counter()
            outcome = await run_version(chain, {"input": f"hi {r}"}, ws)
            flow_ms.append((time.perf_counter() - clock) * 1000)
            assert outcome.status == "ok", outcome.error
            assert len(outcome.steps) == handoffs + 1, [s.name for s in outcome.steps]
        await ws.aclose_providers()
    await stub.close()
    single_median, flow_median = statistics.median(single_ms), statistics.median(flow_ms)
    return {
        "single_agent_ms": single_median,
        "flow_ms": flow_median,
        "handoffs": handoffs,
        "ms_per_handoff": (flow_median - single_median) / handoffs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=200, help="export requests (one trace each)")
    parser.add_argument("--spans", type=int, default=25, help="spans per request (the SDK batches up to 512)")
    parser.add_argument("--encoding", choices=["json", "protobuf", "both"], default="both")
    parser.add_argument("--http", action="store_true", help="also through a real `andon serve` (one worker)")
    parser.add_argument("--concurrency", type=int, default=4, help="clients posting at once (with --http)")
    parser.add_argument("--calls", type=int, default=10, help="tool round-trips per step")
    parser.add_argument("--handoffs", type=int, default=5, help="handoffs per flow (a chain of n + 1 agents)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--no-tools", action="store_true", help="only the ingest figures")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    encodings = ["json", "protobuf"] if args.encoding == "both" else [args.encoding]
    out: dict[str, Any] = {"cpus": os.cpu_count(), "store": "postgresql" if args.database_url else "sqlite"}
    with tempfile.TemporaryDirectory(prefix="andon-bench-agents-") as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'ingest.db'}"
        for encoding in encodings:
            out[f"ingest_{encoding}"] = bench_ingest(url, args.traces, args.spans, encoding)
            if args.http:
                out[f"ingest_{encoding}_http"] = bench_ingest_http(
                    folder / f"serve-{encoding}", url, args.traces, args.spans, encoding, args.concurrency
                )
        if not args.no_tools:
            out["tools"] = asyncio.run(bench_tools(folder, args.calls, args.rounds))
            handoffs = folder / "handoffs"
            handoffs.mkdir()
            out["handoffs"] = asyncio.run(bench_handoffs(handoffs, args.handoffs, args.rounds))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
