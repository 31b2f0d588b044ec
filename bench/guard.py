"""Precision and recall of the guard's built-in checks (crisis, injection) on ``bench/guard_cases.py``, with intervals.

A check predicts a case positive when any of its rules matches. Per check, split (dev: tuned on; held:
never tuned on; all) and language: precision, recall and their 95 % Wilson intervals, and the cases it got
wrong. Writes ``bench/out/guard.json`` and, with ``--save``, the figures the dossier cites
(``src/andon/engine/guard_figures.json``, with the digest of the rules they were measured on).

Run from the project root: ``.venv/bin/python -m bench.guard [--save]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `andon` and `bench` importable from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from andon.engine.guard import rule_hits, rules_digest
from andon.evals.stats import wilson_interval
from bench.guard_cases import CASES, language

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "guard.json"
FIGURES = ROOT / "src" / "andon" / "engine" / "guard_figures.json"
COMMAND = "python -m bench.guard --save"
CHECKS = ("crisis", "injection")


def _rate(hits: int, n: int) -> dict[str, Any]:
    low, high = wilson_interval(hits, n) if n else (0.0, 1.0)
    return {"value": hits / n if n else None, "hits": hits, "n": n, "low": round(low, 4), "high": round(high, 4)}


def measure(check: str, cases: list[tuple[str, str, str]]) -> dict[str, Any]:
    """Confusion counts, precision and recall (with Wilson intervals) of one check on ``cases``."""
    tp = fp = fn = tn = 0
    missed: list[str] = []
    false_alarms: list[str] = []
    for text, label, _split in cases:
        predicted = bool(rule_hits(check, text))
        actual = label == check
        if predicted and actual:
            tp += 1
        elif predicted:
            fp += 1
            false_alarms.append(text)
        elif actual:
            fn += 1
            missed.append(text)
        else:
            tn += 1
    return {
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "precision": _rate(tp, tp + fp), "recall": _rate(tp, tp + fn),
        "missed": missed, "false_alarms": false_alarms,
    }  # fmt: skip


def run() -> dict[str, Any]:
    """Every check on every split and language."""
    results: dict[str, Any] = {}
    for check in CHECKS:
        per: dict[str, Any] = {}
        for split in ("dev", "held", "all"):
            cases = [c for c in CASES if split == "all" or c[2] == split]
            per[split] = measure(check, cases)
            for lang in ("ko", "en"):
                per[f"{split}.{lang}"] = measure(check, [c for c in cases if language(c[0]) == lang])
        results[check] = per
    counts = {label: sum(1 for c in CASES if c[1] == label) for label in ("crisis", "injection", "none")}
    return {"command": COMMAND, "rules_sha256": rules_digest(), "cases": len(CASES), "labels": counts,
            "checks": results}  # fmt: skip


def _fmt(rate: dict[str, Any]) -> str:
    value = rate["value"]
    shown = "  -  " if value is None else f"{value:.3f}"
    return f"{shown} [{rate['low']:.3f}, {rate['high']:.3f}] ({rate['hits']}/{rate['n']})"


def main() -> None:
    """Print the table; write bench/out/guard.json (and the dossier's figures with --save)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", action="store_true", help="also write src/andon/engine/guard_figures.json")
    args = parser.parse_args()
    result = run()
    print(f"{result['cases']} cases {result['labels']}")
    print(f"{'check':<10} {'slice':<8} {'precision [95% Wilson]':<34} {'recall [95% Wilson]':<34}")
    for check, per in result["checks"].items():
        for name, row in per.items():
            print(f"{check:<10} {name:<8} {_fmt(row['precision']):<34} {_fmt(row['recall']):<34}")
    for check, per in result["checks"].items():
        for kind in ("missed", "false_alarms"):
            for text in per["all"][kind]:
                print(f"  {check} {kind}: {text}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.save:
        FIGURES.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {FIGURES.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
