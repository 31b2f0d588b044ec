"""How long the OKR board export takes as the board grows: XLSX (with a colour scale per row) and CSV.

A company-wide board has a few hundred key results; this writes boards of 100 to 5,000 rows (one quarter,
three monthly actuals each, Korean and English text) and reports seconds, rows per second and file size.

Run from the project root: ``.venv/bin/python -m bench.okr_export [--rows 100 1000 5000]``. Results go to
the terminal and to ``bench/out/okr_export.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `andon` importable from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from andon.okr.board import Board, BoardRow
from andon.okr.export import csv_text, write_xlsx


def board(rows: int) -> Board:
    """A quarter's board of ``rows`` key results over 20 teams."""
    made = [
        BoardRow(
            team=f"팀 {i % 20}", objective=f"Objective {i // 5}: 메뉴 검수 자동화", key_result=f"KR {i}: 자동 승인",
            description="Share of menu photos approved without a human, measured over 7 days.",
            history=["2026-10-01 created", "2026-11-03 target 60 → 70"], owner=f"owner{i % 37}",
            start=40.0, target=70.0 if i % 3 else 20.0, unit="%",
            actuals=[("Oct", 41.0 + i % 7), ("Nov", 45.0 + i % 11), ("Dec", None)],
            current=45.0 + i % 11, achievement=(i % 101) / 100, health="on_track", kr_id=f"kr_{i}",
        )
        for i in range(rows)
    ]  # fmt: skip
    return Board(period="2026Q4", generated_at=datetime(2026, 12, 2, tzinfo=UTC), rows=made, teams=[])


def main() -> None:
    """Time each size and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[100, 1000, 5000])
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for rows in args.rows:
            b = board(rows)
            path = Path(folder) / f"board-{rows}.xlsx"
            started = time.perf_counter()
            write_xlsx([b], path)
            xlsx_s = time.perf_counter() - started
            started = time.perf_counter()
            text = csv_text([b])
            csv_s = time.perf_counter() - started
            results.append({"rows": rows, "xlsx_s": xlsx_s, "xlsx_rows_per_s": rows / xlsx_s,
                            "xlsx_kb": path.stat().st_size / 1024, "csv_s": csv_s,
                            "csv_kb": len(text.encode("utf-8")) / 1024})  # fmt: skip
    print(f"{'rows':>6} {'xlsx s':>8} {'rows/s':>8} {'xlsx KB':>8} {'csv s':>7} {'csv KB':>7}")
    for r in results:
        print(f"{r['rows']:>6} {r['xlsx_s']:>8.2f} {r['xlsx_rows_per_s']:>8.0f} {r['xlsx_kb']:>8.0f} "
              f"{r['csv_s']:>7.3f} {r['csv_kb']:>7.0f}")  # fmt: skip
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "okr_export.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
