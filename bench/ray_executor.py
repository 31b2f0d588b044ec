"""The Ray executor beside the local one, on this machine: where spreading cells over processes pays.

(a) I/O-bound cells: a version calling the loopback stub, which answers after 50 ms; (b) CPU-heavy grading: an
instant python version graded by a python grader that burns ~50 ms of CPU per cell. Each is run by
``run_evaluation`` on the local executor and on a Ray head started here (``ray start --head --block`` on
127.0.0.1, ``--num-cpus`` = this machine's cores, stopped after by its process-group id). Reported: the cells
phase's wall time (and the executor's start — Ray connects and its actors open the workspace — separately), and
the ratio local ÷ ray (> 1: Ray faster).

Run from the project root with the ``ray`` extra installed: ``.venv/bin/python -m bench.ray_executor``
(``--help`` for sizes). Results: terminal and ``bench/out/ray_executor.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from andon.evals.dataset import load_dataset
from andon.evals.executors import Executor, ExecutorSettings, build_executor
from andon.evals.executors.base import CellJob, CellOutput
from andon.evals.model import Case
from andon.evals.runner import run_evaluation
from andon.versions.canonical import Version
from andon.workspace import Workspace
from bench.providers import start_stub

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "ray_executor.json"

RULES = """
import time

def instant(variables):
    return {"decision": "approve"}

def burn(output, case):
    # ~50 ms of CPU in pure Python (holds the GIL): what a heavy rule check or a local scorer costs.
    end = time.process_time() + BURN_S
    n = 0
    while time.process_time() < end:
        n += 1
    return True
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def ray_head(cpus: int) -> Iterator[str]:
    """A Ray head on 127.0.0.1 whose workers import this checkout; stopped by its process group."""
    port = free_port()
    temp_dir = tempfile.mkdtemp(prefix="andon-ray-", dir="/tmp")
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    command = [
        str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", f"--port={port}",
        "--node-ip-address=127.0.0.1", f"--num-cpus={cpus}", "--include-dashboard=false", "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env={**os.environ, "PYTHONPATH": path}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    started = threading.Event()

    def watch() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if "Ray runtime started" in line:
                started.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        if not started.wait(120):
            raise SystemExit("ray start did not finish within 120 s")
        yield f"127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        shutil.rmtree(temp_dir, ignore_errors=True)


def write_workspace(root: Path, *, cases: int, stub_url: str, burn_ms: float) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "bench_rules.py").write_text(RULES.replace("BURN_S", repr(burn_ms / 1000)), encoding="utf-8")
    with (root / "cases.jsonl").open("w", encoding="utf-8") as handle:
        for i in range(cases):
            handle.write(json.dumps({"id": f"c{i:06d}", "vars": {"q": f"question {i}"}}) + "\n")
    (root / "andon.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: ray-bench
            providers:
              stub: {{type: openai, base_url: "{stub_url}", api_key: sk-bench, model: stub, max_retries: 0}}
            features:
              io:
                dataset: cases.jsonl
                graders: [{{type: contains, value: stub}}]
                versions:
                  call: {{provider: stub, prompt: "{{{{ q }}}}"}}
              cpu:
                dataset: cases.jsonl
                graders: [{{type: python, function: "bench_rules:burn"}}]
                versions:
                  rule: {{python: "bench_rules:instant"}}
            """
        ),
        encoding="utf-8",
    )


class Timed(Executor):
    """The executor under test, with its start timed apart from the cells."""

    name = "timed"

    def __init__(self, inner: Executor) -> None:
        super().__init__()
        self.inner, self.start_s = inner, 0.0

    async def start(self, job: CellJob) -> None:
        began = time.perf_counter()
        await self.inner.start(job)
        self.start_s = time.perf_counter() - began

    async def run(self, version: Version, case: Case, repeat: int) -> CellOutput:
        return await self.inner.run(version, case, repeat)

    async def close(self) -> None:
        await self.inner.close()


def measure(root: Path, feature: str, executor: Executor, concurrency: int) -> dict[str, Any]:
    """One run of ``feature`` on ``executor``: its cells phase, its start, its status and pass count."""
    timed = Timed(executor)
    with Workspace.open(root) as ws:

        async def main() -> dict[str, Any]:
            dataset = load_dataset(Path("cases.jsonl"), ws.root)
            began = time.perf_counter()
            try:
                outcome = await run_evaluation(
                    ws, feature, ws.sync_versions(feature), dataset, repeats=1, concurrency=concurrency,
                    use_cache=False, executor=timed,
                )  # fmt: skip
            finally:
                await ws.aclose_providers()
            total = time.perf_counter() - began
            return {
                "executor": executor.name, "feature": feature, "cells": outcome.progress.total,
                "concurrency": concurrency, "status": outcome.status, "passed": outcome.progress.passed,
                "start_s": round(timed.start_s, 3), "cells_s": round(total - timed.start_s, 3),
                "total_s": round(total, 3),
            }  # fmt: skip

        return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--io-cases", type=int, default=2000, help="I/O-bound cells (stub at --delay-ms)")
    parser.add_argument("--io-concurrency", type=int, default=50)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--cpu-cases", type=int, default=200, help="cells graded by a CPU-burning grader")
    parser.add_argument("--cpu-concurrency", type=int, default=8)
    parser.add_argument("--burn-ms", type=float, default=50.0)
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="Ray head's --num-cpus (actors)")
    args = parser.parse_args()

    stub, stub_url = start_stub(args.delay_ms)
    results: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="andon-ray-bench-") as tmp, ray_head(args.cpus) as address:
            plans = [("io", args.io_cases, args.io_concurrency), ("cpu", args.cpu_cases, args.cpu_concurrency)]
            for feature, _, concurrency in plans:  # warm-up: this process's lazy imports are not the executor's cost
                write_workspace(Path(tmp) / f"warm-{feature}", cases=20, stub_url=stub_url, burn_ms=args.burn_ms)
                measure(Path(tmp) / f"warm-{feature}", feature, build_executor("local"), concurrency)
            for feature, cases, concurrency in plans:
                for name in ("local", "ray"):
                    root = Path(tmp) / f"{feature}-{name}"
                    write_workspace(root, cases=cases, stub_url=stub_url, burn_ms=args.burn_ms)
                    settings = ExecutorSettings(address=address) if name == "ray" else None
                    row = measure(root, feature, build_executor(name, settings), concurrency)
                    results.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        stub.terminate()
        stub.wait(timeout=10)
    by = {(r["feature"], r["executor"]): r for r in results}
    ideal = {
        "io": args.io_cases * args.delay_ms / 1000 / args.io_concurrency,
        "cpu_one_core": args.cpu_cases * args.burn_ms / 1000,
    }
    summary = {
        feature: {
            "local_cells_s": by[(feature, "local")]["cells_s"], "ray_cells_s": by[(feature, "ray")]["cells_s"],
            "ray_start_s": by[(feature, "ray")]["start_s"],
            "local_over_ray": round(by[(feature, "local")]["cells_s"] / by[(feature, "ray")]["cells_s"], 2),
        }
        for feature in ("io", "cpu")
    }  # fmt: skip
    load = os.getloadavg()
    report = {"args": vars(args), "ideal_s": ideal, "runs": results, "summary": summary, "loadavg": load}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2), encoding="utf-8")
    for feature, row in summary.items():
        print(
            f"{feature}: local {row['local_cells_s']:.2f} s, ray {row['ray_cells_s']:.2f} s "
            f"(+ {row['ray_start_s']:.2f} s to start), local/ray = {row['local_over_ray']:.2f}"
        )
    print(f"ideal: {ideal}; load average at the end: {load}")


if __name__ == "__main__":
    main()
