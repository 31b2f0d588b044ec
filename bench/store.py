"""PostgreSQL at volume: ``--traces`` traces over 90 days loaded by COPY into the partitioned schema, then the
watcher's and the dashboard's queries timed through the store's own methods (p50/p95 of each).

Creates its own database (``andon_bench_store``, dropped at the end unless ``--keep``). The indexes are taken
off before the load and made again after it with the same definitions (as a bulk import would), so the
queries run against exactly the schema migrations give. Results go to the terminal and ``bench/out/store.json``.

    nice -n 10 .venv/bin/python bench/store.py --traces 1000000
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, text

from andon.store import Store
from andon.store.partitions import add_partition, partitions, weeks_between
from andon.store.webtraces import Cursor, TraceFilter

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE = "andon_bench_store"
DAYS = 90
TEMPLATES = 50_000  # distinct rows the traces are drawn from (each then gets its own id and time)
CHUNK = 50_000  # rows per COPY write
FEATURES = [f"feature_{i:02d}" for i in range(12)]
FEATURE_WEIGHTS = [1 / (i + 1) for i in range(len(FEATURES))]  # a few busy features, a long tail
ROUTES, ROUTE_WEIGHTS = ["ai", "human", "shadow", "fallback"], [85, 5, 5, 5]
STATUSES, STATUS_WEIGHTS = ["ok", "error", "queued"], [93, 5, 2]
# Answer text from a 2,000-word vocabulary with Zipf frequencies: the search asks for a rare and a common word.
VOCABULARY = [f"w{rank:04d}" for rank in range(2000)]
ZIPF = [1 / (rank + 1) for rank in range(2000)]
RARE_WORDS = VOCABULARY[500:520]  # each in ~0.3% of traces
COMMON_WORDS = VOCABULARY[:5]  # each in ~30%
LABELS = ["billing", "shipping", "product", "account", "other"]
COLUMNS = [
    "id", "feature", "version_id", "version_name", "route", "status", "cache", "input_mode", "input", "input_hash",
    "output_text", "output_json", "error", "error_code", "provider", "model", "input_tokens", "output_tokens", "cost",
    "currency", "latency_ms", "queue_ms", "cache_ms", "provider_ms", "user_id", "session_id", "tenant", "api_key_id",
    "tags", "created_at",
]  # fmt: skip


def _template(rng: random.Random) -> list[str]:
    """One trace's columns after ``id`` and before ``created_at``, as COPY text (``\\N`` is NULL)."""
    feature = rng.choices(FEATURES, FEATURE_WEIGHTS)[0]
    version = rng.randrange(3)
    version_id = f"{hash((feature, version)) & (2**256 - 1):064x}"
    route = rng.choices(ROUTES, ROUTE_WEIGHTS)[0]
    status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
    cached = rng.random() < 0.1
    words = " ".join(rng.choices(VOCABULARY, ZIPF, k=8))
    latency = rng.lognormvariate(6.0, 0.6)  # ~400 ms median, a long tail
    tokens_in, tokens_out = rng.randrange(50, 2000), rng.randrange(10, 600)
    label = rng.choice(LABELS)
    error = status == "error"
    return [
        feature, version_id, f"v{version + 1}", route, status, "exact" if cached else "\\N", "redacted",
        json.dumps({"q": words}), f"{rng.getrandbits(256):064x}", "\\N" if error else f"answer about {words}",
        json.dumps({"label": label}) if rng.random() < 0.3 else "\\N",
        "provider timed out" if error else "\\N", "provider_timeout" if error else "\\N", "openai", "gpt-4o-mini",
        str(tokens_in), str(tokens_out), f"{(tokens_in * 0.15 + tokens_out * 0.6) / 1e6:.8f}", "USD",
        f"{latency:.3f}", f"{rng.random() * 2:.3f}", "0.1", f"{latency * 0.95:.3f}", f"user{rng.randrange(50_000)}",
        f"s{rng.randrange(10**9)}", f"tenant{rng.randrange(20)}", "\\N", json.dumps({"label": label}),
    ]  # fmt: skip


def _rows(n: int, start: datetime, end: datetime, rng: random.Random) -> Iterator[str]:
    """``n`` COPY lines in time order, spread evenly (with jitter) from ``start`` to ``end``."""
    templates = ["\t".join(_template(rng)) for _ in range(TEMPLATES)]
    step = (end - start).total_seconds() / n
    base = start.timestamp()
    buffer: list[str] = []
    for i in range(n):
        at = datetime.fromtimestamp(base + (i + rng.random()) * step, UTC)
        buffer.append(f"tr{i:016x}\t{templates[rng.randrange(TEMPLATES)]}\t{at.isoformat()}\n")
        if len(buffer) == CHUNK:
            yield "".join(buffer)
            buffer.clear()
    if buffer:
        yield "".join(buffer)


def load(url: str, n: int, now: datetime, rng: random.Random) -> dict[str, float]:
    """Weeks for 90 days, indexes off, COPY, indexes on, ANALYZE; seconds of each step."""
    start = now - timedelta(days=DAYS)
    engine = create_engine(url)
    times: dict[str, float] = {}
    with engine.begin() as conn:
        have = {p.start for p in partitions(conn, "traces")}
        for week in weeks_between(start, now):
            if week not in have:
                add_partition(conn, "traces", week)
        indexes = conn.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'traces' AND indexname <> 'pk_traces'")
        ).all()
        for name, _ in indexes:
            conn.execute(text(f"DROP INDEX {name}"))
        conn.execute(text("ALTER TABLE traces DROP CONSTRAINT pk_traces"))
    engine.dispose()
    began = time.perf_counter()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with (
        psycopg.connect(dsn) as pg,
        pg.cursor() as cur,
        cur.copy(f"COPY traces ({', '.join(COLUMNS)}) FROM STDIN") as copy,
    ):
        for chunk in _rows(n, start, now, rng):
            copy.write(chunk)
    times["copy_s"] = time.perf_counter() - began
    began = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute("SET maintenance_work_mem = '1GB'")
        pg.execute("SET max_parallel_maintenance_workers = 2")
        pg.execute("ALTER TABLE traces ADD CONSTRAINT pk_traces PRIMARY KEY (id, created_at)")
        for _name, definition in indexes:
            pg.execute(definition.replace(" ON ONLY ", " ON "))  # ONLY would leave the partitions without it
        times["index_s"] = time.perf_counter() - began
        began = time.perf_counter()
        pg.execute("VACUUM (ANALYZE) traces")
        times["vacuum_analyze_s"] = time.perf_counter() - began
    return times


def _timed(repeats: int, call: Callable[[int], Any]) -> dict[str, float]:
    """p50/p95/max in ms of ``call(i)`` for i in range(repeats), after one warm-up call."""
    call(-1)
    samples = []
    for i in range(repeats):
        began = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 2),
        "max_ms": round(samples[-1], 2),
    }


def queries(store: Store, n: int, now: datetime, repeats: int, rng: random.Random) -> dict[str, dict[str, float]]:
    """The watcher's (watch/sources.py over store/watch.py) and the dashboard's (web/pages/traces.py over
    store/webtraces.py, the home page's hourly totals) queries, at varied features, windows and ids."""
    picks = [rng.choices(FEATURES, FEATURE_WEIGHTS)[0] for _ in range(repeats + 1)]
    ends = [now - timedelta(minutes=rng.randrange(0, 60 * 24 * DAYS - 60 * 24)) for _ in range(repeats + 1)]
    ids = [f"tr{rng.randrange(n):016x}" for _ in range(repeats + 1)]
    users = [f"user{rng.randrange(50_000)}" for _ in range(repeats + 1)]
    hour, day = timedelta(hours=1), timedelta(days=1)
    first = store.search_traces(TraceFilter(feature=FEATURES[0]), limit=50)
    deep = first.older or Cursor(now, "")
    cases: dict[str, Callable[[int], Any]] = {
        "watch: calls of a feature, 1 h": lambda i: store.trace_calls(picks[i], ends[i] - hour, ends[i]),
        "watch: error share of a feature, 1 h": lambda i: store.trace_share(picks[i], ends[i] - hour, ends[i], "error"),
        "watch: latency p95 of a feature, 1 h": lambda i: store.trace_latency_percentile(
            picks[i], ends[i] - hour, ends[i], 0.95
        ),
        "watch: latency p95 of a feature, 24 h": lambda i: store.trace_latency_percentile(
            picks[i], ends[i] - day, ends[i], 0.95
        ),
        "watch: cost of a feature, 24 h": lambda i: store.trace_cost(picks[i], ends[i] - day, ends[i]),
        "home: hourly totals of a feature, 24 h": lambda i: store.hourly_trace_totals(picks[i], now - day),
        "traces page: newest 50": lambda i: store.search_traces(TraceFilter(), limit=50),
        "traces page: feature, newest 50": lambda i: store.search_traces(TraceFilter(feature=picks[i]), limit=50),
        "traces page: feature, next page": lambda i: store.search_traces(TraceFilter(feature=FEATURES[0]), after=deep),
        "traces page: feature + errors": lambda i: store.search_traces(
            TraceFilter(feature=picks[i], status="error"), limit=50
        ),
        "traces page: route human, last day": lambda i: store.search_traces(
            TraceFilter(route="human", since=ends[i] - day, until=ends[i]), limit=50
        ),
        "traces page: one user": lambda i: store.search_traces(TraceFilter(user_id=users[i]), limit=50),
        "traces page: feature + rare word": lambda i: store.search_traces(
            TraceFilter(feature=picks[i], text=RARE_WORDS[i % len(RARE_WORDS)]), limit=50
        ),
        "traces page: feature + common word": lambda i: store.search_traces(
            TraceFilter(feature=picks[i], text=COMMON_WORDS[i % len(COMMON_WORDS)]), limit=50
        ),
        "trace by id (+ spans)": lambda i: (store.get_trace(ids[i]), store.list_spans(ids[i])),
    }
    return {name: _timed(repeats, call) for name, call in cases.items()}


def main() -> None:
    """Create the database, load, measure, report, drop."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traces", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--server", default=SERVER, help="a PostgreSQL URL to create the bench database on")
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse it with --no-load)")
    parser.add_argument("--no-load", action="store_true", help="measure an already loaded database")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "store.json")
    args = parser.parse_args()
    rng = random.Random(13)
    server = create_engine(args.server, isolation_level="AUTOCOMMIT")
    url = server.url.set(database=DATABASE).render_as_string(hide_password=False)
    now = datetime.now(UTC).replace(microsecond=0)
    result: dict[str, Any] = {"traces": args.traces, "days": DAYS}
    try:
        if not args.no_load:
            with server.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
            Store.open(url).close()  # migrations to head: the partitioned schema
            result["load"] = load(url, args.traces, now, rng)
            print(json.dumps(result["load"]), flush=True)
        with Store.open(url) as store:
            with store.engine.connect() as conn:
                now = conn.execute(text("SELECT max(created_at) FROM traces")).scalar_one()
                result["partitions"] = len(partitions(conn, "traces"))
                result["size"] = conn.execute(
                    text("SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits "
                         "WHERE inhparent = 'traces'::regclass")
                ).scalar_one()  # fmt: skip
            result["queries"] = queries(store, args.traces, now, args.repeats, rng)
    finally:
        if not args.keep:
            with server.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        server.dispose()
    width = max(len(name) for name in result["queries"])
    for name, figures in result["queries"].items():
        print(f"{name:<{width}}  p50 {figures['p50_ms']:8.2f} ms  p95 {figures['p95_ms']:8.2f} ms")
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
