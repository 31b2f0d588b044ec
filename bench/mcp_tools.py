"""What an MCP tool costs through andon's session (engine.mcp_tools): opening it once, and each call after.

Loopback only: the shop server of tests/support/mcp_shop.py over stdio (started by the session) and over
streamable HTTP (started here). Prints a table and writes bench/out/mcp_tools.json.

    python -m bench.mcp_tools --calls 200 --steps 10

``--steps``: that many steps (each opens the step's servers, lists their tools and makes one call), without a
session pool (one session per step, as before engine.mcp_pool) and inside one pool (a run's cells).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from andon.config.tools import McpServer, McpTools
from andon.engine.mcp_pool import session_pool
from andon.engine.mcp_tools import serving

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "support" / "mcp_shop.py"


async def measure(source: McpTools, calls: int) -> dict[str, Any]:
    """Seconds to open the session and list the tools, and per-call latencies (ms) over it."""
    started = time.perf_counter()
    async with serving([source], "bench") as served:
        opened = time.perf_counter() - started
        call = served.remote["lookup_order"]
        latencies = []
        for _ in range(calls):
            clock = time.perf_counter()
            await call({"order_id": "A1"})
            latencies.append((time.perf_counter() - clock) * 1000)
    latencies.sort()
    return {
        "open_s": round(opened, 3),
        "calls": calls,
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
    }


async def steps(source: McpTools, count: int, pooled: bool) -> dict[str, Any]:
    """Wall time of ``count`` steps of one call each, with one session per step or one pool for all."""

    async def run() -> list[float]:
        out = []
        for _ in range(count):
            clock = time.perf_counter()
            async with serving([source], "bench") as served:
                await served.remote["lookup_order"]({"order_id": "A1"})
            out.append((time.perf_counter() - clock) * 1000)
        return out

    started = time.perf_counter()
    if pooled:
        async with session_pool():
            per_step = await run()
    else:
        per_step = await run()
    total = time.perf_counter() - started  # a pool's closing included
    return {
        "steps": count,
        "total_s": round(total, 3),
        "first_step_ms": round(per_step[0], 1),
        "median_step_ms": round(statistics.median(per_step), 2),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    """Run both transports and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--steps", type=int, default=10, help="steps per pool set-up (0: skip)")
    args = parser.parse_args()
    stdio = McpTools(mcp=McpServer(command=[sys.executable, str(SERVER)]))
    results: dict[str, Any] = {"stdio": asyncio.run(measure(stdio, args.calls))}
    port = _free_port()
    process = subprocess.Popen([sys.executable, str(SERVER), "--http", str(port)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        source = McpTools(mcp=McpServer(url=f"http://127.0.0.1:{port}/mcp", allowed_networks=["127.0.0.1/32"]))
        results["streamable-http"] = asyncio.run(measure(source, args.calls))
        if args.steps:
            for name, each in (("stdio", stdio), ("streamable-http", source)):
                for pooled in (False, True):
                    label = f"{name} {'one pool' if pooled else 'per step'}"
                    results.setdefault("steps", {})[label] = asyncio.run(steps(each, args.steps, pooled))
    finally:
        process.terminate()
        process.wait(10)
    print(f"{'transport':<16} {'open s':>8} {'calls':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for name in ("stdio", "streamable-http"):
        row = results[name]
        print(f"{name:<16} {row['open_s']:>8} {row['calls']:>6} {row['p50_ms']:>8} {row['p95_ms']:>8}")
    if "steps" in results:
        print(f"\n{'steps':<26} {'n':>4} {'total s':>8} {'first ms':>9} {'median ms':>10}")
        for name, row in results["steps"].items():
            first, median = row["first_step_ms"], row["median_step_ms"]
            print(f"{name:<26} {row['steps']:>4} {row['total_s']:>8} {first:>9} {median:>10}")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "mcp_tools.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
