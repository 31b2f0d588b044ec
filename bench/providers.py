"""Calls/s through andon's provider layer beside the official ``openai`` client, on the same loopback stub;
and the embedded model's generation speed when it is installed.

Run from the project root: ``.venv/bin/python -m bench.providers`` (``--help`` for sizes).
Results go to the terminal and to ``bench/out/providers.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `andon` and `bench` importable from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import httpx
from pydantic import SecretStr

from andon.config.schema import Params, ProviderConfig
from andon.providers.base import Message, ProviderRequest, TextPart
from andon.providers.registry import build_provider

OUT = Path(__file__).resolve().parent / "out" / "providers.json"
PROMPT = "Say hi to the bench."
MODEL = "stub-model"


def start_stub(delay_ms: float) -> tuple[subprocess.Popen[str], str]:
    """The stub in its own process (its own core when there is one); returns it and its base URL."""
    script = Path(__file__).resolve().with_name("stub.py")
    process = subprocess.Popen(
        [sys.executable, str(script), "--port", "0", "--delay-ms", str(delay_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("stub listening on "):
        process.kill()
        raise SystemExit(f"the stub did not start: {line!r}")
    return process, line.removeprefix("stub listening on ")


async def drive(call: Callable[[], Awaitable[object]], calls: int, concurrency: int, max_s: float) -> dict[str, Any]:
    """Run ``calls`` calls with ``concurrency`` workers (stopping early at ``max_s``); wall and CPU time."""
    issued = done = errors = 0
    first_error: str | None = None
    deadline = time.perf_counter() + max_s

    async def worker() -> None:
        nonlocal issued, done, errors, first_error
        while issued < calls and time.perf_counter() < deadline:
            issued += 1
            try:
                await call()
            except Exception as exc:
                errors += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"
            else:
                done += 1

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "calls": done,
        "errors": errors,
        "first_error": first_error,
        "seconds": round(wall, 3),
        "calls_per_s": round(done / wall, 1) if wall else 0.0,
        "cpu_ms_per_call": round(cpu * 1000 / max(done + errors, 1), 3),
    }


async def run_ours(base_url: str, calls: int, concurrency: int, max_s: float) -> dict[str, Any]:
    """andon's layer: build_provider('openai') = OpenAIProvider inside ResilientProvider."""
    config = ProviderConfig(type="openai", base_url=base_url, api_key=SecretStr("sk-bench"), concurrency=concurrency)
    provider = build_provider("bench", config)
    request = ProviderRequest(model=MODEL, messages=(Message("user", (TextPart(PROMPT),)),), params=Params())

    async def call() -> None:
        response = await provider.complete(request)
        assert response.output_tokens > 0

    try:
        await drive(call, min(50, calls), concurrency, max_s)  # warm up: connections, imports
        return await drive(call, calls, concurrency, max_s)
    finally:
        await provider.aclose()


async def run_openai(base_url: str, calls: int, concurrency: int, max_s: float) -> dict[str, Any]:
    """The official client (its own retries off, default connection pool)."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)

    async def call() -> None:
        reply = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": PROMPT}])
        assert reply.usage is not None and reply.usage.completion_tokens > 0

    try:
        await drive(call, min(50, calls), concurrency, max_s)
        return await drive(call, calls, concurrency, max_s)
    finally:
        await client.close()


async def run_local(max_tokens: int, repeats: int) -> dict[str, Any]:
    """Generation tokens/s of the embedded model on a short prompt, or why it was skipped."""
    try:
        from andon.providers.local import LocalProvider
    except ImportError as exc:
        return {"skipped": f"andon.providers.local cannot be imported: {exc}"}
    provider = LocalProvider("local", ProviderConfig(type="local"))
    request = ProviderRequest(
        model="",
        messages=(Message("user", (TextPart("Write three sentences about kimbap."),)),),
        params=Params(temperature=0, max_tokens=max_tokens),
    )
    runs: list[dict[str, float]] = []
    try:
        started = time.perf_counter()
        await provider.complete(request)  # joins, verifies and loads the weights on first use
        load_s = time.perf_counter() - started
        for _ in range(max(repeats, 1)):
            response = await provider.complete(request)
            seconds = response.latency_ms / 1000
            runs.append(
                {
                    "output_tokens": response.output_tokens,
                    "seconds": round(seconds, 3),
                    "tokens_per_s": round(response.output_tokens / seconds, 1),
                }
            )
    except Exception as exc:  # missing extra or weights: report, do not fail the whole bench
        return {"skipped": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    finally:
        await provider.aclose()
    return {
        "model": response.model,
        "max_tokens": max_tokens,
        "first_call_s": round(load_s, 2),
        "runs": runs,
        "tokens_per_s": statistics.median(r["tokens_per_s"] for r in runs),
    }


async def stub_stats(root_url: str) -> dict[str, int]:
    async with httpx.AsyncClient() as client:
        stats: dict[str, int] = (await client.get(f"{root_url}/stats")).json()
        await client.post(f"{root_url}/stats/reset")
        return stats


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    process, base_url = start_stub(args.delay_ms)
    root_url = base_url.removesuffix("/v1")
    results: list[dict[str, Any]] = []
    try:
        for concurrency, calls in ((1, args.calls_1), (64, args.calls_64)):
            for round_no in range(1, args.rounds + 1):
                for client, run in (("andon", run_ours), ("openai", run_openai)):
                    result = await run(base_url, calls, concurrency, args.max_seconds)
                    stats = await stub_stats(root_url)
                    results.append(
                        {
                            "client": client,
                            "concurrency": concurrency,
                            "round": round_no,
                            **result,
                            "stub_peak_connections": stats["peak_connections"],
                        }
                    )
                    print(
                        f"  {client:<7} c={concurrency:<3} round {round_no}: {result['calls_per_s']:>8.1f} calls/s "
                        f"({result['calls']} calls, {result['errors']} errors)",
                        flush=True,
                    )
    finally:
        process.terminate()
        process.wait(timeout=10)
    best: dict[str, dict[int, dict[str, Any]]] = {}
    for row in results:
        current = best.setdefault(row["client"], {}).get(row["concurrency"])
        if current is None or row["calls_per_s"] > current["calls_per_s"]:
            best[row["client"]][row["concurrency"]] = row
    ratios = {
        str(c): round(best["andon"][c]["calls_per_s"] / best["openai"][c]["calls_per_s"], 2)
        for c in best["andon"]
        if best["openai"].get(c) and best["openai"][c]["calls_per_s"]
    }
    local = {"skipped": "--no-local"} if args.no_local else await run_local(args.local_tokens, args.local_repeats)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_1m": os.getloadavg()[0],
        },
        "stub": {"delay_ms": args.delay_ms, "process": "separate"},
        "results": results,
        "best": {client: {str(c): row["calls_per_s"] for c, row in rows.items()} for client, rows in best.items()},
        "ratio_andon_over_openai": ratios,
        "local": local,
    }


def print_table(report: dict[str, Any]) -> None:
    """The summary: best round per client and concurrency, and the ratio."""
    print()
    print(
        f"{'concurrency':>11} | {'andon calls/s':>13} | {'openai calls/s':>14} | {'ours/openai':>11} | cpu ms/call a/o"
    )
    print("-" * 80)
    rows = {(r["client"], r["concurrency"]): r for r in report["results"]}
    for c in sorted({r["concurrency"] for r in report["results"]}):
        ours, theirs = report["best"]["andon"][str(c)], report["best"]["openai"][str(c)]
        cpu = [
            min(r["cpu_ms_per_call"] for (cl, cc), r in rows.items() if cl == client and cc == c)
            for client in ("andon", "openai")
        ]
        ratio = report["ratio_andon_over_openai"].get(str(c), float("nan"))
        print(f"{c:>11} | {ours:>13.1f} | {theirs:>14.1f} | {ratio:>11.2f} | {cpu[0]:.3f} / {cpu[1]:.3f}")
    local = report["local"]
    print()
    if "skipped" in local:
        print(f"embedded model: skipped ({local['skipped']})")
    else:
        print(
            f"embedded model {local['model']}: {local['tokens_per_s']:.1f} tokens/s "
            f"(median of {len(local['runs'])}, max_tokens {local['max_tokens']}, first call {local['first_call_s']} s)"
        )


def main(argv: list[str] | None = None) -> None:
    """Run the bench and write bench/out/providers.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls-1", type=int, default=2000, help="calls at concurrency 1")
    parser.add_argument("--calls-64", type=int, default=20000, help="calls at concurrency 64")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per client; the best is reported")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="cap on one measurement")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="stub answer delay")
    parser.add_argument("--no-local", action="store_true", help="skip the embedded model")
    parser.add_argument("--local-tokens", type=int, default=64)
    parser.add_argument("--local-repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    report = asyncio.run(main_async(args))
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
