"""The improvement loop offline: the demo's menu review, one turn of ``andon improve`` with the embedded model.

Builds the demo workspace in a temporary folder, evaluates ``--version`` (default ``v1-naive``) on the 102
cases, asks the embedded local model for a revised prompt from the failed cases of the learning split, and
evaluates base and candidate on the judging split. Prints the split, the pass rates with their intervals,
McNemar's counts, the verdict and the wall times; the figures also go to ``bench/out/improve_loop.json``.
``--cases N`` keeps the dataset's first N cases (both labels come early), for a machine where 102 take too long;
``--timeout-s`` and ``--threads`` set the embedded model's call timeout and threads (a loaded machine needs both:
the improvement request is long, and llama.cpp's threads stall when they outnumber the free cores).

Run from the project root: ``.venv/bin/python -m bench.improve_loop`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from andon.demo.workspace import FEATURE, create_workspace
from andon.evals.evaluate import evaluate
from andon.evals.improve import aimprove
from andon.evals.splits import Split
from andon.workspace import Workspace

OUT = Path(__file__).resolve().parent / "out" / "improve_loop.json"


def _pass_rate(result: Any, version_id: str) -> dict[str, float | None]:
    assert result.report is not None
    summary = next(s for s in result.report.summaries if s.version_id == version_id)
    metric = summary.metrics["pass_rate"]
    return {"value": metric.value, "low": metric.low, "high": metric.high}


def _limit_cases(path: Path, limit: int | None) -> int:
    """Keep the first ``limit`` cases of the workspace's copy of the dataset; the number of cases kept."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if limit is not None:
        if limit < 4:
            raise SystemExit("--cases: at least 4, so both the learning and the judging split get some")
        lines = lines[:limit]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def _tune_model(path: Path, timeout_s: float, threads: int | None) -> None:
    """Set the ``local`` provider's timeout (and threads) in the demo's andon.yaml."""
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    local = config["providers"]["local"]
    local["timeout_s"] = timeout_s
    if threads is not None:
        local.setdefault("options", {})["n_threads"] = threads
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def main() -> None:
    """Run one turn and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="v1-naive", help="Demo version to improve.")
    parser.add_argument("--judge-share", type=float, default=0.5, help="Share of the cases kept for judging.")
    parser.add_argument("--keep", type=Path, default=None, help="Build the workspace here and keep it.")
    parser.add_argument("--cases", type=int, default=None, help="Use only the dataset's first N cases.")
    parser.add_argument("--timeout-s", type=float, default=600.0, help="The embedded model's timeout per call.")
    parser.add_argument("--threads", type=int, default=None, help="The embedded model's threads (default: the demo's).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = create_workspace(args.keep or Path(scratch) / "demo", "ko", fresh=True)
        cases = _limit_cases(root / "data" / "cases.jsonl", args.cases)
        _tune_model(root / "andon.yaml", args.timeout_s, args.threads)
        with Workspace.open(root) as ws:
            clock = time.perf_counter()
            evaluate(FEATURE, workspace=ws, versions=[args.version])
            source_s = time.perf_counter() - clock
            clock = time.perf_counter()
            result = asyncio.run(aimprove(ws, FEATURE, args.version, split=Split(judge_share=args.judge_share)))
            loop_s = time.perf_counter() - clock
    figures: dict[str, Any] = {
        "version": args.version,
        "cases": cases,
        "timeout_s": args.timeout_s,
        "threads": args.threads,
        "status": result.status,
        "learn_cases": len(result.learn_ids),
        "judge_cases": len(result.judge_ids),
        "failed_shown": len(result.failed_ids),
        "source_run_s": round(source_s, 1),
        "loop_s": round(loop_s, 1),
        "rationale": result.rationale,
    }
    cmp = result.comparison
    if cmp is not None and result.candidate is not None:
        figures |= {
            "base_pass_rate": _pass_rate(result, result.base.id),
            "candidate_pass_rate": _pass_rate(result, result.candidate.id),
            "fixed": cmp.mcnemar_c,
            "broken": cmp.mcnemar_b,
            "mcnemar_p": cmp.mcnemar_p,
            "verdict": cmp.verdict,
        }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
