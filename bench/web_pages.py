"""Dashboard page times: each page's latency (p50, p95) as a signed-in browser sees it, over loopback.

    python -m bench.web_pages [--traces 100000] [--items 2000] [--cells 100000] [--requests 40]

The workspace is the dashboard tests' (features ``menu`` and ``echo``) with ``--traces`` traces spread over
the last 24 hours, ``--items`` pending review items and a run of ``--cells`` cells (two versions); the app
is the one ``andon serve`` runs, under uvicorn in a thread. Issue 10 asks every page's server time p95
under 100 ms at 100,000 traces and 100,000 run cells.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from tests.web.web_support import WebServer, queue_items, signed_in, write_web_workspace
from tests.web.webruns_support import synthetic_run

from andon.store.models import utcnow
from andon.store.records import TraceRecord, new_id
from andon.workspace import Workspace

PAGES = ("/", "/features/menu", "/review?feature=menu", "/admin/keys")
RUN_PAGES = ("/runs/{run}", "/runs/{run}?version=v1&failed=on&tag=even", "/compare?a={run}")
_BATCH = 5000


def fill(folder: Path, traces: int, items: int) -> None:
    """``traces`` traces of ``menu`` over the last 24 hours (every 20th an error) and ``items`` review items."""
    now = utcnow()
    step = timedelta(hours=24) / max(traces, 1)
    with Workspace.open(folder) as ws:
        for start in range(0, traces, _BATCH):
            batch = [
                TraceRecord(
                    id=new_id("trc"),
                    feature="menu",
                    route="ai",
                    status="error" if i % 20 == 0 else "ok",
                    input_mode="hash",
                    input=None,
                    input_hash="0" * 64,
                    created_at=now - step * i,
                    cost=1.25,
                    currency="KRW",
                    latency_ms=120.0,
                )
                for i in range(start, min(start + _BATCH, traces))
            ]
            ws.store.save_traces(batch)
    queue_items(folder, [f"메뉴 {i}" for i in range(items)])


def measure(base_url: str, requests: int, pages: tuple[str, ...] = PAGES) -> dict[str, dict[str, float]]:
    """Per page: the first (cold) GET, then p50 and p95 in milliseconds over ``requests`` more GETs."""
    out: dict[str, dict[str, float]] = {}
    with signed_in(base_url, "ada") as client:
        for path in pages:
            began = time.perf_counter()
            client.get(path, timeout=900).raise_for_status()  # a run's first view summarises every cell
            first = (time.perf_counter() - began) * 1000
            times = []
            for _ in range(requests):
                began = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - began) * 1000)
            cuts = statistics.quantiles(times, n=20)
            out[path] = {
                "first_ms": round(first, 1),
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(cuts[18], 1),
            }
    return out


def main() -> None:
    """Build the workspace, serve it, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_web_workspace(Path(tmp) / "ws")
        began = time.perf_counter()
        fill(folder, args.traces, args.items)
        run_id = synthetic_run(folder, cases=args.cells // 2)
        pages = PAGES + tuple(p.format(run=run_id) for p in RUN_PAGES)
        took = time.perf_counter() - began
        print(f"filled {args.traces:,} traces, {args.items:,} review items and {args.cells:,} cells in {took:.1f} s")
        with WebServer(folder) as server:
            figures = measure(server.base_url, args.requests, pages)
    print(f"{'page':<44}{'first ms':>10}{'p50 ms':>10}{'p95 ms':>10}")
    for path, row in figures.items():
        print(f"{path.replace(run_id, 'RUN'):<44}{row['first_ms']:>10}{row['p50_ms']:>10}{row['p95_ms']:>10}")
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "web_pages.json").write_text(json.dumps({"args": vars(args), "pages": figures}, indent=2))


if __name__ == "__main__":
    main()
