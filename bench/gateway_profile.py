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

from bench.gateway import MODEL, andon_env, chat_body, scratch, start_stub
from bench.gateway import andon_workspace as write_workspace

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "gateway_profile.txt"


async def _drive(app: Any, secret: str, calls: int, burst: int, concurrency: int) -> dict[str, float]:
    body = json.dumps({**chat_body(), "model": f"stub/{MODEL}"}).encode()
    headers = [
        (b"host", b"gateway"),
        (b"authorization", f"Bearer {secret}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]

    async def one() -> int:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions", "query_string": b"",
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
        await one()
    started = time.perf_counter()
    latencies = []
    for _ in range(calls):
        t0 = time.perf_counter()
        assert await one() == 200
        latencies.append((time.perf_counter() - t0) * 1000)
    sequential = time.perf_counter() - started
    queue = iter(range(burst))

    async def worker() -> None:
        for _ in queue:
            assert await one() == 200

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    concurrent = time.perf_counter() - started
    latencies.sort()
    return {
        "p50_ms": round(latencies[len(latencies) // 2], 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)], 3),
        "sequential_per_s": round(calls / sequential, 1),
        "concurrent_per_s": round(burst / concurrent, 1),
    }


async def _profile(ws_path: Path, secret: str, args: argparse.Namespace) -> tuple[dict[str, float], str, Any]:
    from pyinstrument import Profiler

    from andon.gateway.app import create_app
    from andon.workspace import Workspace

    app = create_app(Workspace.open(ws_path), close_workspace=True)
    async with app.router.lifespan_context(app):
        gateway = app.state.gateway
        profiler = Profiler(interval=args.interval, async_mode="disabled")
        profiler.start()
        figures = await _drive(app, secret, args.calls, args.burst, args.concurrency)
        profiler.stop()
        stats = gateway.writer.stats
    return figures, profiler.output_text(unicode=True, show_all=args.show_all), stats


def main(argv: list[str] | None = None) -> None:
    """Profile the app under sequential and concurrent calls; print pyinstrument's text report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000, help="sequential calls (concurrency 1)")
    parser.add_argument("--burst", type=int, default=2000, help="calls at --concurrency after those")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--interval", type=float, default=0.001, help="pyinstrument's sampling interval (s)")
    parser.add_argument("--show-all", action="store_true", help="keep library frames in the tree")
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
            os.environ.pop("ANDON_DATABASE_URL", None)
            figures, report, stats = asyncio.run(_profile(ws, secret, args))
    finally:
        os.killpg(stub.pid, signal.SIGTERM)
        stub.wait(timeout=10)
    head = (
        f"in-process, no HTTP server: concurrency 1 p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, "
        f"{figures['sequential_per_s']}/s; concurrency {args.concurrency}: {figures['concurrent_per_s']}/s; "
        f"{stats.traces} traces in {stats.commits} commits (largest {stats.largest_batch})\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(head + report, encoding="utf-8")
    print(head + report)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
