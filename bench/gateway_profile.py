"""Where the gateway spends its time on `/v1/chat/completions`: pyinstrument over the app, called in-process.

The same setup as ``bench/gateway.py`` (the loopback stub answering at once in its own process, auth on, a
fresh API key, durable traces in the workspace's SQLite store); the FastAPI app of ``andon serve`` is called
directly as ASGI (no socket, no uvicorn: what is left is the app's own cost and the provider call), first
``--calls`` times one after another, then ``--burst`` calls ``--concurrency`` at a time. The text report goes
to the terminal and to ``bench/out/gateway_profile.txt``.

pyinstrument samples the main thread only: the event loop and everything on it. Work handed to threads (the
trace commit) shows as the loop waiting; it is timed separately here (``commit ms`` per group commit).
Run from the project root: ``.venv/bin/python -m bench.gateway_profile`` (pyinstrument must be installed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.gateway import MODEL, PROMPT, andon_env, chat_body, scratch, start_stub
from bench.gateway import andon_workspace as write_workspace

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "gateway_profile.txt"


INVOKE_PATH = "/v1/features/hello/invoke"


def _request(path: str) -> bytes:
    """The body of one call: a chat completion of the stub's model, or the bench feature's variables."""
    if path == INVOKE_PATH:
        return json.dumps({"variables": {"input": PROMPT}}).encode()
    return json.dumps({**chat_body(), "model": f"stub/{MODEL}"}).encode()


async def _drive(
    app: Any, secret: str, calls: int, burst: int, concurrency: int, path: str = "/v1/chat/completions"
) -> dict[str, float]:
    body = _request(path)
    headers = [
        (b"host", b"gateway"),
        (b"authorization", f"Bearer {secret}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]

    async def one() -> int:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"",
            "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "root_path": "",
        }  # fmt: skip
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    for _ in range(20):
        assert await one() == 200
    cpu_started = time.process_time()  # the process's CPU (every thread): robust to other jobs' load, unlike wall time
    started = time.perf_counter()
    latencies = []
    for _ in range(calls):
        t0 = time.perf_counter()
        assert await one() == 200
        latencies.append((time.perf_counter() - t0) * 1000)
    sequential = time.perf_counter() - started
    sequential_cpu = time.process_time() - cpu_started
    queue = iter(range(burst))

    async def worker() -> None:
        for _ in queue:
            assert await one() == 200

    cpu_started = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    concurrent = time.perf_counter() - started
    concurrent_cpu = time.process_time() - cpu_started
    latencies.sort()
    return {
        "p50_ms": round(latencies[len(latencies) // 2], 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)], 3),
        "sequential_per_s": round(calls / sequential, 1),
        "concurrent_per_s": round(burst / concurrent, 1),
        "cpu_ms_sequential": round(sequential_cpu * 1000 / max(calls, 1), 3),
        "cpu_ms_concurrent": round(concurrent_cpu * 1000 / max(burst, 1), 3),
    }


async def _profile(ws_path: Path, secret: str, args: argparse.Namespace) -> tuple[dict[str, float], str, Any]:
    from pyinstrument import Profiler

    from andon.gateway.app import create_app
    from andon.workspace import Workspace

    app = create_app(Workspace.open(ws_path), close_workspace=True)
    async with app.router.lifespan_context(app):
        gateway = app.state.gateway
        profiler = None if args.no_profile else Profiler(interval=args.interval, async_mode="disabled")
        if profiler is not None:
            profiler.start()
        figures = await _drive(app, secret, args.calls, args.burst, args.concurrency, args.path)
        if profiler is not None:
            profiler.stop()
        stats = gateway.writer.stats
    report = "" if profiler is None else profiler.output_text(unicode=True, show_all=args.show_all)
    return figures, report, stats


def _runner(loop: str) -> asyncio.Runner:
    """An event loop as ``andon serve`` would run: uvloop's when asked (and installed), else asyncio's."""
    if loop == "uvloop":
        import uvloop

        return asyncio.Runner(loop_factory=uvloop.new_event_loop)
    return asyncio.Runner()


def main(argv: list[str] | None = None) -> None:
    """Profile the app under sequential and concurrent calls; print pyinstrument's text report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000, help="sequential calls (concurrency 1)")
    parser.add_argument("--burst", type=int, default=2000, help="calls at --concurrency after those")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--interval", type=float, default=0.001, help="pyinstrument's sampling interval (s)")
    parser.add_argument("--show-all", action="store_true", help="keep library frames in the tree")
    parser.add_argument("--no-profile", action="store_true", help="figures only: no profiler slowing the calls")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--path", choices=("/v1/chat/completions", INVOKE_PATH), default="/v1/chat/completions")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    stub, stub_url = start_stub()
    try:
        with scratch() as folder:
            ws = folder / "ws"
            ws.mkdir()
            write_workspace(ws, stub_url)
            env = andon_env(None)
            created = subprocess.run(
                [sys.executable, "-m", "andon", "--workspace", str(ws), "keys", "create", "bench", "--scope",
                 "invoke", "--json"], capture_output=True, text=True, env=env, check=True,
            )  # fmt: skip
            secret = json.loads(created.stdout)["secret"]
            subprocess.run(
                [sys.executable, "-m", "andon", "--workspace", str(ws), "promote", "hello", "v1", "--force",
                 "--reason", "bench: served without an evaluation"], capture_output=True, env=env, check=True,
            )  # fmt: skip
            os.environ.pop("ANDON_DATABASE_URL", None)
            with _runner(args.loop) as runner:
                figures, report, stats = runner.run(_profile(ws, secret, args))
    finally:
        os.killpg(stub.pid, signal.SIGTERM)
        stub.wait(timeout=10)
    head = (
        f"in-process ({args.path}, {args.loop} loop), no HTTP server: concurrency 1 p50 {figures['p50_ms']} ms, "
        f"p99 {figures['p99_ms']} ms, {figures['sequential_per_s']}/s, CPU {figures['cpu_ms_sequential']} ms/call; "
        f"concurrency {args.concurrency}: {figures['concurrent_per_s']}/s, CPU {figures['cpu_ms_concurrent']} ms/call; "
        f"{stats.traces} traces in {stats.commits} commits (largest {stats.largest_batch}); load {_load()}\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(head + report, encoding="utf-8")
    print(head + report)
    print(f"written to {args.out}")


def _load() -> str:
    """The machine's 1-minute load average (other jobs share these cores)."""
    return f"{os.getloadavg()[0]:.1f}"


if __name__ == "__main__":
    main()
