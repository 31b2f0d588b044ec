"""Run andon's detectors over a NAB-layout corpus, write NAB result files, and score them the NAB way.

    python -m bench.nab                                   # ../shared/data/nab, the default detector
    python -m bench.nab --data DIR --results OUT          # any folder of category/<name>.csv files
    python -m bench.nab --detector robust-z               # one detector alone (see --help)

One configuration for every file: nothing is tuned per file or category, and labels are read only to
score. Without labels for a folder the result files are written (label 0) and scoring is skipped.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

import numpy as np

from bench.nab_detectors import PRESETS
from bench.nab_scoring import PROFILES, FileLayout, layout, sweep, window_rows

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "nab"
DEFAULT_RESULTS = ROOT / "bench" / "out" / "nab"


def find_data(path: Path) -> Path:
    """The folder whose subfolders are categories (``path`` itself, or its ``data/``)."""
    return path / "data" if (path / "data").is_dir() else path


def find_windows(path: Path, given: Path | None) -> dict[str, list[tuple[str, str]]] | None:
    """NAB labels (``windows.json`` or ``labels/combined_windows.json`` beside or above the data), if any."""
    candidates = (
        [given]
        if given
        else [
            path / "windows.json",
            path.parent / "windows.json",
            path / "labels" / "combined_windows.json",
            path.parent / "labels" / "combined_windows.json",
        ]
    )
    for candidate in candidates:
        if candidate is not None and candidate.is_file():
            raw = json.loads(candidate.read_text(encoding="utf-8"))
            return {k: [(str(a), str(b)) for a, b in v] for k, v in raw.items()}
    return None


def read_series(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Raw timestamps, epoch seconds and values of a ``timestamp,value`` CSV."""
    stamps: list[str] = []
    values: list[float] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            stamps.append(row["timestamp"])
            values.append(float(row["value"]))
    epoch = datetime(1970, 1, 1)
    secs = np.array([(datetime.fromisoformat(s) - epoch).total_seconds() for s in stamps])
    return stamps, secs, np.array(values)


def detect_file(job: tuple[str, Path, Path, list[tuple[str, str]] | None]) -> tuple[str, np.ndarray, float]:
    """Score one file row by row (each row sees only the past) and write its NAB result file."""
    preset, source, target, windows = job
    stamps, secs, values = read_series(source)
    start = time.perf_counter()
    scorer = PRESETS[preset]()
    scores = np.array([scorer(float(ts), float(x)) for ts, x in zip(secs, values, strict=True)])
    elapsed = time.perf_counter() - start
    labels = np.zeros(len(stamps), dtype=int)
    if windows:
        for left, right in window_rows([np.datetime64(s.replace(" ", "T")[:19]) for s in stamps], windows):
            labels[left : right + 1] = 1
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", "value", "anomaly_score", "label"])
        for s, x, a, lab in zip(stamps, values, scores, labels, strict=True):
            out.writerow([s, repr(float(x)), f"{a:.6f}", int(lab)])
    return str(source), np.round(scores, 6), elapsed


def score_corpus(
    results: dict[str, np.ndarray],
    stamps: dict[str, list[np.datetime64]],
    labels: dict[str, list[tuple[str, str]]],
) -> dict[str, dict[str, object]]:
    """Per profile: the corpus-optimal threshold and the normalised score of every category and overall."""
    table: dict[str, dict[str, object]] = {}
    for name, profile in PROFILES.items():
        files: dict[str, tuple[np.ndarray, FileLayout]] = {}
        for key, scores in results.items():
            rows = window_rows(stamps[key], labels.get(key, []))
            files[key] = (scores, layout(len(scores), rows, profile))
        total = sum(len(labels.get(k, [])) for k in files)
        overall = sweep(list(files.values()), profile, total)
        threshold, raw = overall.best()
        row: dict[str, object] = {"threshold": threshold, "raw": raw, "score": overall.normalised(raw)}
        for category in sorted({k.split("/")[0] for k in files}):
            members = [v for k, v in files.items() if k.split("/")[0] == category]
            windows = sum(len(labels.get(k, [])) for k in files if k.split("/")[0] == category)
            part = sweep(members, profile, windows)
            raw_c = part.at(threshold)
            row[category] = {"raw": raw_c, "score": part.normalised(raw_c)}
        table[name] = row
    return table


def split_scores(
    results: dict[str, np.ndarray],
    stamps: dict[str, list[np.datetime64]],
    labels: dict[str, list[tuple[str, str]]],
) -> dict[str, dict[str, float | None]]:
    """Overall score per profile of the odd- and the even-numbered files (1-based, sorted by category/name),
    each half scored as a corpus of its own (its own best threshold): tune on the odd half, read the even one.
    """
    keys = sorted(results)
    halves = {"odd": keys[0::2], "even": keys[1::2]}
    out: dict[str, dict[str, float | None]] = {}
    for half, members in halves.items():
        out[half] = {}
        for name, profile in PROFILES.items():
            files = [
                (results[k], layout(len(results[k]), window_rows(stamps[k], labels.get(k, [])), profile))
                for k in members
            ]
            part = sweep(files, profile, sum(len(labels.get(k, [])) for k in members))
            out[half][name] = part.normalised(part.best()[1])
    return out


def print_table(table: dict[str, dict[str, object]], detector: str, out: Callable[[str], None] = print) -> None:
    """Categories as rows, profiles as columns (raw score where a category has no window to normalise by)."""
    profiles = list(table)
    categories = sorted(k for k in table[profiles[0]] if k not in ("threshold", "raw", "score"))
    out(f"NAB scores of detector {detector!r} (threshold optimised per profile over the corpus)")
    out(f"{'category':<24}" + "".join(f"{p:>20}" for p in profiles))
    for category in categories:
        cells = []
        for p in profiles:
            cell = table[p][category]
            assert isinstance(cell, dict)
            score = cell["score"]
            cells.append(f"{score:>20.1f}" if score is not None else f"{'raw ' + format(cell['raw'], '.2f'):>20}")
        out(f"{category:<24}" + "".join(cells))
    out(f"{'overall':<24}" + "".join(f"{table[p]['score']:>20.1f}" for p in profiles))
    out(f"{'threshold':<24}" + "".join(f"{table[p]['threshold']:>20.4f}" for p in profiles))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="NAB folder, or its data/ folder")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="where result files go")
    parser.add_argument("--windows", type=Path, default=None, help="labels (default: windows.json nearby)")
    parser.add_argument("--detector", default="andon", choices=sorted(PRESETS), help="default: andon")
    parser.add_argument("--split", action="store_true", help="also score odd- and even-numbered files apart")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)

    data = find_data(args.data)
    sources = sorted(p for p in data.glob("*/*.csv"))
    if not sources:
        print(f"no <category>/<name>.csv files under {data}", file=sys.stderr)
        return 2
    labels = find_windows(args.data, args.windows)
    keys = {str(p): f"{p.parent.name}/{p.name}" for p in sources}
    jobs = [
        (
            args.detector,
            p,
            args.results / args.detector / p.parent.name / f"{args.detector}_{p.name}",
            (labels or {}).get(keys[str(p)]),
        )
        for p in sources
    ]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        done = list(pool.map(detect_file, jobs))
    wall = time.perf_counter() - started
    rows = sum(len(s) for _, s, _ in done)
    print(
        f"{len(done)} files, {rows} rows, detector {args.detector!r}: {wall:.1f} s wall "
        f"({sum(e for *_, e in done):.1f} s detecting) with {args.jobs} job(s)"
    )
    print(f"result files: {args.results / args.detector}")
    if labels is None:
        print("no labels found (windows.json): result files written, scoring skipped")
        return 0
    results = {keys[src]: scores for src, scores, _ in done}
    stamps = {keys[str(p)]: [np.datetime64(s.replace(" ", "T")[:19]) for s in read_series(p)[0]] for p in sources}
    table = score_corpus(results, stamps, labels)
    print_table(table, args.detector)
    if args.split:
        halves = split_scores(results, stamps, labels)
        for half, row in halves.items():
            cells = "".join(f"{v:>20.1f}" if v is not None else f"{'-':>20}" for v in row.values())
            print(f"{half + ' files':<24}{cells}")
        table["split"] = halves  # type: ignore[assignment]
    summary = args.results / args.detector / "final_results.json"
    summary.write_text(json.dumps(table, indent=2, default=float), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
