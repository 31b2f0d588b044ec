"""What an MCP tool costs through andon's session (engine.mcp_tools): opening it once, and each call after.

Loopback only: the shop server of tests/support/mcp_shop.py over stdio (started by the session) and over
streamable HTTP (started here). Prints a table and writes bench/out/mcp_tools.json.

    python -m bench.mcp_tools --calls 200
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    """Run both transports and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    results = {
        "stdio": asyncio.run(measure(McpTools(mcp=McpServer(command=[sys.executable, str(SERVER)])), args.calls))
    }
    port = _free_port()
    process = subprocess.Popen([sys.executable, str(SERVER), "--http", str(port)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        source = McpTools(mcp=McpServer(url=f"http://127.0.0.1:{port}/mcp"))
        results["streamable-http"] = asyncio.run(measure(source, args.calls))
    finally:
        process.terminate()
        process.wait(10)
    print(f"{'transport':<16} {'open s':>8} {'calls':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for name, row in results.items():
        print(f"{name:<16} {row['open_s']:>8} {row['calls']:>6} {row['p50_ms']:>8} {row['p95_ms']:>8}")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "mcp_tools.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
