"""A run's cells filtered and paged by the database (SQLite and PostgreSQL), and the tags migration's backfill."""

from __future__ import annotations

import dataclasses
import json

from alembic import command
from sqlalchemy import text

from andon.evals.model import CellResult
from andon.store import Store
from andon.store.db import alembic_config
from andon.store.records import CellQuery

VERSIONS = [("v1", "a" * 64), ("v2", "b" * 64)]
N = 37


def _fill(store: Store, run_id: str = "run_cells") -> None:
    cases = [{"id": f"k{i:03d}", "vars": {"text": str(i)}, "tags": ["even" if i % 2 == 0 else "odd"]} for i in range(N)]
    store.create_run(
        run_id=run_id, feature="menu", dataset="d.jsonl", dataset_sha256="0" * 64, repeats=1, currency="KRW",
        versions=VERSIONS, cases=cases, config={},
    )  # fmt: skip
    cells = [
        CellResult(run_id=run_id, version_id=vid, version_name=name, case_id=f"k{i:03d}", repeat=0, output_id=None,
                   status="ok", score=float(i % 3 != 0), passed=i % 3 != 0, expected_label="x" if i % 4 else "y")
        for i in range(N)
        for name, vid in VERSIONS
    ]  # fmt: skip
    store.save_cells([], cells)


def _all(store: Store, query: CellQuery) -> list[tuple[str, str]]:
    """Every page forward, as (version name, case id)."""
    out: list[tuple[str, str]] = []
    after = None
    while True:
        page = store.run_cells("run_cells", dataclasses.replace(query, after=after))
        out += [(c["version_name"], c["case_id"]) for c in page.cells]
        if page.after is None:
            return out
        after = page.after


def test_filters_select_in_the_database_and_pages_walk_both_ways(store: Store) -> None:
    _fill(store)
    everything = _all(store, CellQuery(limit=10))
    assert len(everything) == 2 * N and len(set(everything)) == 2 * N
    v2_failed_even = _all(store, CellQuery(version_id="b" * 64, failed=True, tag="even", limit=2))
    assert v2_failed_even == [("v2", f"k{i:03d}") for i in range(N) if i % 3 == 0 and i % 2 == 0]
    labelled = _all(store, CellQuery(label="y", limit=4))
    assert sorted(c for _, c in labelled) == sorted(f"k{i:03d}" for i in range(N) if i % 4 == 0 for _ in VERSIONS)
    first = store.run_cells("run_cells", CellQuery(limit=10))
    assert first.before is None and first.after is not None
    second = store.run_cells("run_cells", CellQuery(after=first.after, limit=10))
    back = store.run_cells("run_cells", CellQuery(before=second.before, limit=10))
    assert back.cells == first.cells and back.before is None and back.after == first.after
    last = store.run_cells("run_cells", CellQuery(after=2**31 - 1, limit=10))
    assert last.cells == [] and last.after is None
    assert store.run_tags("run_cells") == ["even", "odd"]
    found = store.run_cases_by_id("run_cells", ["k001", "k002", "nope", "k001"])
    assert sorted(found) == ["k001", "k002"] and found["k002"]["tags"] == ["even"]


def test_the_migration_fills_tags_of_runs_stored_before_it(store: Store) -> None:
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0011")
        conn.execute(
            text(
                "INSERT INTO runs (id, feature, status, created_at, dataset, dataset_sha256, repeats, currency,"
                " versions, config, n_cases) VALUES ('old', 'menu', 'finished', CURRENT_TIMESTAMP, 'd', 'x', 1,"
                " 'KRW', '[]', '{}', 2)"
            )
        )
        for position, (case_id, tags) in enumerate([("c1", ["hard", "photo"]), ("c2", [])]):
            conn.execute(
                text("INSERT INTO run_cases (run_id, case_id, position, data) VALUES ('old', :c, :p, :d)"),
                {"c": case_id, "p": position, "d": json.dumps({"id": case_id, "tags": tags})},
            )
        command.upgrade(alembic_config(conn), "head")
    assert store.run_tags("old") == ["hard", "photo"]
