"""Precision and recall of the redactor per category, today's module beside main's, on a hand-written set.

A positive is caught when its secret no longer appears in the redacted text (each positive holds one
entity); a hard negative is a false positive when redaction changes it at all. Per category: recall
(caught / positives), and for the whole set precision (true catches over everything the redactor changed).
Main's module is read with ``git show main:src/andon/gateway/redact.py`` into a temporary module.

Run from the project root: ``.venv/bin/python -m bench.redaction [--ref main]``. Results go to the
terminal and to ``bench/out/redaction.json``. Also: seconds per MB of the slowest inputs found.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `andon` and `bench` importable from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from andon.gateway import redact as current
from bench.redaction_cases import HARD_NEGATIVES, POSITIVES

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "redaction.json"
# Inputs that make a regex engine work hardest on each rule (1 MB each for the speed table).
SLOW_UNITS = ("1 ", "4111 ", "+1 ", "a@b.c ", "１ ", "\u200b1", "…1", "공일 ", "가나다 ")


def module_at(ref: str) -> Any:
    """The redact module as it is at git ``ref``, imported from a temporary file."""
    source = subprocess.run(
        ["git", "show", f"{ref}:src/andon/gateway/redact.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    folder = Path(tempfile.mkdtemp(prefix="andon-redact-"))
    path = folder / f"redact_{ref.replace('/', '_')}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def score(redact: Callable[[str], str]) -> dict[str, Any]:
    """Recall per positive category, false positives per negative category, overall precision."""
    rows: dict[str, Any] = {}
    caught_total = 0
    for category, cases in POSITIVES.items():
        caught = [secret not in redact(text) for text, secret in cases]
        caught_total += sum(caught)
        missed = [text for (text, _), ok in zip(cases, caught, strict=True) if not ok]
        rows[category] = {"positives": len(cases), "caught": sum(caught), "recall": sum(caught) / len(cases),
                          "missed": missed}  # fmt: skip
    false_total = 0
    for category, texts in HARD_NEGATIVES.items():
        changed = [text for text in texts if redact(text) != text]
        false_total += len(changed)
        rows[category] = {"negatives": len(texts), "changed": len(changed), "false_positives": changed}
    positives = sum(len(cases) for cases in POSITIVES.values())
    negatives = sum(len(texts) for texts in HARD_NEGATIVES.values())
    flagged = caught_total + false_total
    rows["overall"] = {
        "recall": caught_total / positives,
        "precision": caught_total / flagged if flagged else 1.0,
        "false_positive_rate": false_total / negatives,
    }
    return rows


def speed(redact: Callable[[str], str], size: int) -> dict[str, float]:
    """Seconds per MB for each slow unit repeated to ``size`` characters."""
    out = {}
    for unit in SLOW_UNITS:
        text = (unit * (size // len(unit) + 1))[:size]
        started = time.perf_counter()
        redact(text)
        out[unit] = (time.perf_counter() - started) / (size / 1_000_000)
    return out


def main() -> None:
    """Score today's redactor and ``--ref``'s on the same set; print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="main", help="git ref of the module to compare with")
    parser.add_argument("--speed-chars", type=int, default=200_000, help="size of each speed input (0: skip)")
    args = parser.parse_args()
    old = module_at(args.ref)
    results = {"current": score(current.redact), args.ref: score(old.redact)}
    print(f"{'category':14} {'n':>3}  {args.ref + ' recall':>12}  {'now recall':>10}")
    for category in POSITIVES:
        now, before = results["current"][category], results[args.ref][category]
        print(f"{category:14} {now['positives']:>3}  {before['recall']:>12.2f}  {now['recall']:>10.2f}")
    print(f"\n{'hard negative':14} {'n':>3}  {args.ref + ' changed':>12}  {'now changed':>10}")
    for category in HARD_NEGATIVES:
        now, before = results["current"][category], results[args.ref][category]
        print(f"{category:14} {now['negatives']:>3}  {before['changed']:>12}  {now['changed']:>10}")
    print()
    for name in (args.ref, "current"):
        overall = results[name]["overall"]
        print(f"{name:8} recall {overall['recall']:.3f}  precision {overall['precision']:.3f}  "
              f"false-positive rate {overall['false_positive_rate']:.3f}")  # fmt: skip
    for name in ("current",):
        missed = [t for c in POSITIVES for t in results[name][c]["missed"]]
        changed = [t for c in HARD_NEGATIVES for t in results[name][c]["false_positives"]]
        print(f"\nstill missed: {missed}\nstill changed: {changed}")
    if args.speed_chars:
        results["seconds_per_mb"] = {"current": speed(current.redact, args.speed_chars)}
        results["seconds_per_mb"][args.ref] = speed(old.redact, args.speed_chars)
        print(f"\n{'input':10} {args.ref + ' s/MB':>10} {'now s/MB':>10}")
        for unit in SLOW_UNITS:
            before, now = results["seconds_per_mb"][args.ref][unit], results["seconds_per_mb"]["current"][unit]
            print(f"{unit!r:10} {before:>10.2f} {now:>10.2f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
