"""Dashboard page times: each page's latency (p50, p95) as a signed-in browser sees it, over loopback.

    nice -n 10 python -m bench.web_pages [--traces 100000] [--cells 100000] [--items 2000] [--requests 40]
        [--incidents 1000] [--monitors 50] [--krs 200] [--checkins 4000] [--only NAME …]

The workspace is the dashboard tests' (features ``menu`` and ``echo``) with ``--traces`` traces spread over
the last 24 hours (tenants, users, errors, fallbacks, two versions, words to search, every 100th with its
provenance), a finished run of ``menu``'s two versions with ``--cells`` graded cells, and ``--items`` pending
review items, ``--monitors`` monitors with a week of per-minute points each (80 % warn or fail), ``--incidents``
incidents and ``--krs`` key results with ``--checkins`` check-ins (``bench.web_fill``); the app is the one
``andon serve`` runs, under uvicorn in a thread. Issue 10 asks every page's server time p95 under 100 ms
at 100,000 traces and 100,000 run cells; ``--traces 1000000`` checks the Traces page's paging over a
million rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.web.web_support import WebServer, queue_items, signed_in, write_web_workspace

from andon.evals.model import CellResult, Grade
from andon.store.models import utcnow
from andon.store.records import OutputRecord, TraceRecord, new_id
from andon.workspace import Workspace
from bench.web_fill import add_monitors, fill_deploys, fill_incidents, fill_okrs, fill_watch_points, monitor_name

_BATCH = 5000
RARE_WORD = "bulgogi"  # in one trace of 10,000: a selective text search
PROVENANCE_EVERY = 100
JUDGING_S = 600  # at most this long to wait for the home page's verdict to be judged


def _trace(i: int, now: datetime, step: timedelta, versions: list[tuple[str, str]]) -> TraceRecord:
    name, version_id = versions[i % 2]
    status = "error" if i % 20 == 0 else "ok"
    decision = "reject" if i % 3 == 0 else "approve"
    words = f"{decision} menu item {i}" + (f" {RARE_WORD}" if i % 10_000 == 1 else "")
    return TraceRecord(
        id=new_id("trc"),
        feature="menu",
        route="fallback" if i % 50 == 0 else "ai",
        status=status,
        input_mode="full",
        input={"text": f"메뉴 {i % 997}번 김치찌개"},
        input_hash=f"{i:064x}",
        created_at=now - step * i,
        version_id=version_id,
        version_name=name,
        output_text=None if status == "error" else words,
        error="provider timed out" if status == "error" else None,
        provider="python",
        model="web_rules:review",
        cost=1.25,
        currency="KRW",
        latency_ms=120.0 + i % 40,
        tenant=f"t{i % 50}",
        user_id=f"u{i % 1000}",
    )


def _provenance(trace: TraceRecord) -> OutputRecord:
    return OutputRecord(
        id=new_id("out"), feature=trace.feature, version_id=trace.version_id or "", provider="python",
        model="web_rules:review", params={"temperature": 0},
        messages=[{"role": "user", "content": [{"type": "text", "text": json.dumps(trace.input, ensure_ascii=False)}]}],
        status=trace.status, started_at=trace.created_at, finished_at=trace.created_at + timedelta(milliseconds=120),
        output_text=trace.output_text, context={"version_name": trace.version_name},
    )  # fmt: skip


def fill_traces(ws: Workspace, traces: int) -> None:
    """``traces`` traces of ``menu`` over the last 24 hours, every 100th with its provenance."""
    now = utcnow()
    step = timedelta(hours=24) / max(traces, 1)
    versions = [(v.name, v.id) for v in ws.declared_versions("menu")[:2]]
    for start in range(0, traces, _BATCH):
        batch, outputs = [], []
        for i in range(start, min(start + _BATCH, traces)):
            trace = _trace(i, now, step, versions)
            if i % PROVENANCE_EVERY == 1:
                output = _provenance(trace)
                trace = replace(trace, output_id=output.id)
                outputs.append(output)
            batch.append(trace)
        ws.store.save_traces(batch, outputs)


def fill_run(ws: Workspace, cells: int) -> str:
    """A finished run of ``menu``'s two versions with ``cells`` graded cells (and their outputs); its id."""
    run_id = new_id("run")
    versions = [(v.name, v.id) for v in ws.declared_versions("menu")[:2]]
    cases = max(cells // len(versions), 1)
    snapshot = [
        {"id": f"c{i:06d}", "vars": {"text": f"menu item {i}"}, "label": "reject" if i % 2 else "approve",
         "tags": [f"t{i % 5}"]}
        for i in range(cases)
    ]  # fmt: skip
    ws.store.create_run(
        run_id=run_id, feature="menu", dataset="bench.jsonl", dataset_sha256="0" * 64, repeats=1, currency="KRW",
        versions=versions, cases=snapshot, config={"graders": []},
    )  # fmt: skip
    now = utcnow()
    for start in range(0, cases, _BATCH // 2):
        outputs, results = [], []
        for i in range(start, min(start + _BATCH // 2, cases)):
            expected = "reject" if i % 2 else "approve"
            for index, (name, version_id) in enumerate(versions):
                ok = (i % 3 != 0) != (index == 1 and i % 25 == 0)
                predicted = expected if ok else ("approve" if expected == "reject" else "reject")
                output = OutputRecord(
                    id=new_id("out"), feature="menu", version_id=version_id, provider="python",
                    model="web_rules:review", params={}, messages=[], status="ok", started_at=now, finished_at=now,
                    output_json={"decision": predicted, "violations": []}, latency_ms=100.0 + i % 50,
                )  # fmt: skip
                outputs.append(output)
                results.append(
                    CellResult(
                        run_id=run_id,
                        version_id=version_id,
                        version_name=name,
                        case_id=f"c{i:06d}",
                        repeat=0,
                        output_id=output.id,
                        status="ok",
                        score=float(ok),
                        passed=ok,
                        grades=[Grade("decision", float(ok), ok, predicted=predicted, expected=expected)],
                        output_json=output.output_json,
                        latency_ms=output.latency_ms,
                        cost=0.5,
                        currency="KRW",
                        predicted_label=predicted,
                        expected_label=expected,
                    )
                )
        ws.store.save_cells(outputs, results)
    ws.store.set_run_status(run_id, "finished", None)
    return run_id


def pages(ws: Workspace) -> dict[str, str]:
    """The pages to time: name → path. The deep page starts 90 % of the way down the newest-first order."""
    rows = ws.store.list_traces("menu", limit=PROVENANCE_EVERY * 2)
    cited = next((r["id"] for r in rows if r["output_id"]), rows[0]["id"] if rows else "none")
    run_id = next((r.id for r in ws.store.list_runs("menu", limit=1)), "none")
    deep = ws.store.list_traces(
        "menu", limit=1, before=rows[0]["created_at"] - timedelta(hours=21.6)
    ) if rows else []  # fmt: skip
    after = f"{deep[0]['created_at'].isoformat()}~{deep[0]['id']}" if deep else ""
    incidents = ws.store.list_incidents(limit=1)
    incident = incidents[0].id if incidents else "none"
    krs = ws.store.key_results()
    kr = krs[len(krs) // 2].id if krs else "none"
    rollouts, experiments = ws.store.list_rollouts("menu"), ws.store.list_experiments("menu")
    return {
        "home": "/",
        "feature": "/features/menu",
        "review": "/review?feature=menu",
        "keys": "/admin/keys",
        "run": f"/runs/{run_id}",
        "run filtered": f"/runs/{run_id}?version=v1&failed=on&tag=t1",
        "compare": f"/compare?a={run_id}",
        "traces": "/traces",
        "traces status=error": "/traces?status=error",
        "traces tenant+user": "/traces?feature=menu&tenant=t7&user=u7",
        "traces route=fallback v2": "/traces?feature=menu&version=v2&route=fallback",
        "traces text (rare)": f"/traces?q={RARE_WORD}",
        "traces text (common)": "/traces?q=approve+menu",
        "traces time window": "/traces?since=" + quote((utcnow() - timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M")),
        "traces deep page": "/traces?after=" + quote(after),
        "trace card": f"/traces/{cited}",
        "incidents": "/incidents",
        "incident": f"/incidents/{incident}",
        "monitors": "/monitors",
        "monitor 24h": f"/monitors/{monitor_name(0)}?hours=24",
        "monitor 168h": f"/monitors/{monitor_name(0)}?hours=168",
        "monitor 168h band": f"/monitors/{monitor_name(1)}?hours=168",
        "okr board": "/okrs",
        "key result": f"/okrs/{kr}",
        "rollouts": "/features/menu/rollouts",
        "rollout": f"/rollouts/{rollouts[0].id if rollouts else 'none'}",
        "experiments": "/features/menu/experiments",
        "experiment": f"/experiments/{experiments[0].id if experiments else 'none'}",
    }


def measure(base_url: str, paths: dict[str, str], requests: int) -> dict[str, dict[str, Any]]:
    """Per page: the first (cold) GET, then p50 and p95 in milliseconds over ``requests`` more GETs."""
    out: dict[str, dict[str, Any]] = {}
    with signed_in(base_url, "ada") as client:
        deadline = time.monotonic() + JUDGING_S
        while "verdict-judging" in client.get("/").text and time.monotonic() < deadline:
            time.sleep(1)  # the run's verdict is judged once, in the background: time the pages after it
        for name, path in paths.items():
            print(f"  {name} …", file=sys.stderr, flush=True)
            began = time.perf_counter()
            first = client.get(path, timeout=900)
            first.raise_for_status()
            first_ms = (time.perf_counter() - began) * 1000
            while "data-computing" in first.text:  # a run's summary is built in the background: until it shows
                time.sleep(0.2)
                first = client.get(path, timeout=900)
            ready_ms = (time.perf_counter() - began) * 1000
            times = []
            for _ in range(requests):
                began = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - began) * 1000)
            cuts = statistics.quantiles(times, n=20)
            print(f"  {name}: p95 {cuts[18]:.1f} ms", file=sys.stderr, flush=True)
            out[name] = {
                "path": path,
                "first_ms": round(first_ms, 1),
                "ready_ms": round(ready_ms, 1),
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(cuts[18], 1),
            }
    return out


def main() -> None:
    """Build the workspace, serve it, print and save the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--monitors", type=int, default=50)
    parser.add_argument("--krs", type=int, default=200)
    parser.add_argument("--checkins", type=int, default=4000)
    parser.add_argument("--only", nargs="+", help="Time only these pages (names as printed).")
    parser.add_argument("--folder", type=Path, help="Build the workspace here and keep it (reused when it exists).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp) / "ws"
        began = time.perf_counter()
        if not (folder / "andon.yaml").exists():  # a kept --folder is timed again as it is
            write_web_workspace(folder)
            add_monitors(folder, args.monitors)
            with Workspace.open(folder) as ws:
                fill_traces(ws, args.traces)
                fill_run(ws, args.cells)
                fill_watch_points(ws, args.monitors)
                fill_incidents(ws, args.incidents, args.monitors)
                fill_okrs(ws, args.krs, args.checkins)
            queue_items(folder, [f"메뉴 {i}" for i in range(args.items)])
        with Workspace.open(folder) as ws:
            fill_deploys(ws)  # also into a kept --folder made before the rollout and experiment pages
            paths = pages(ws)
        if args.only:
            paths = {name: path for name, path in paths.items() if name in args.only}
        filled = time.perf_counter() - began
        print(
            f"filled {args.traces:,} traces, {args.cells:,} run cells, {args.items:,} review items, "
            f"{args.monitors} monitors × a week, {args.incidents:,} incidents, {args.krs} key results: "
            f"{filled:.1f} s"
        )
        with WebServer(folder) as server:
            figures = measure(server.base_url, paths, args.requests)
    print(f"{'page':<28}{'first ms':>10}{'ready ms':>10}{'p50 ms':>10}{'p95 ms':>10}")
    for name, row in figures.items():
        print(f"{name:<28}{row['first_ms']:>10}{row['ready_ms']:>10}{row['p50_ms']:>10}{row['p95_ms']:>10}")
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    name = "web_pages.json" if args.traces == 100_000 else f"web_pages_{args.traces}.json"
    (out / name).write_text(
        json.dumps(
            {"args": {k: str(v) for k, v in vars(args).items()}, "filled_s": round(filled, 1), "pages": figures},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
