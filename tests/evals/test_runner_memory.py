"""The runner's bounded-memory parts: done cells as bits on resume, streamed case snapshots, the writer's group
commits, and summaries streamed from the store equal to the summaries of every loaded cell (both backends)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, select

from andon.evals import runner
from andon.evals.build import build_report, feature_for_run
from andon.evals.dataset import load_dataset
from andon.evals.donecells import DoneCells
from andon.evals.model import Case
from andon.evals.runner import Progress, run_evaluation
from andon.evals.stored_summary import summarize_stored
from andon.evals.summarize import Conversion
from andon.store import Store
from andon.store.db import DATABASE_URL_ENV
from andon.store.models import RunResultRow
from andon.workspace import Workspace

RULES = '''\
"""Rules of the runner memory tests."""


def decide(variables):
    """Approve or reject by the case's number; fail the call on every 11th case."""
    n = int(variables["n"])
    if n % 11 == 10:
        raise RuntimeError("asked to fail")
    return {"decision": "reject" if n % 3 == 0 else "approve", "codes": ["A"] if n % 4 == 0 else []}


def sloppy(variables):
    """Answer without a decision on every 5th case (a grader cannot grade it)."""
    n = int(variables["n"])
    return {} if n % 5 == 0 else {"decision": "approve", "codes": []}


def has_decision(output, case):
    """A grader that cannot grade an answer without a decision (it raises)."""
    if "decision" not in output:
        raise ValueError("no decision to read")
    return True
'''


def write_workspace(root: Path, n_cases: int, repeats: int = 1) -> None:
    (root / "memory_rules.py").write_text(RULES, encoding="utf-8")
    with (root / "cases.jsonl").open("w", encoding="utf-8") as handle:
        for i in range(n_cases):
            case = {
                "id": f"c{i:04d}",
                "vars": {"n": i},
                "label": "reject" if i % 3 == 0 else "approve",
                "tags": ["even" if i % 2 == 0 else "odd", *(["round"] if i % 10 == 0 else [])],
                "expected": {"codes": ["A"] if i % 4 == 0 else []},
            }
            handle.write(json.dumps(case) + "\n")
    (root / "andon.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: runner-memory
            features:
              menu:
                dataset: cases.jsonl
                repeats: {repeats}
                graders:
                  - {{type: label, path: decision}}
                  - {{type: python, function: "memory_rules:has_decision"}}
                criteria: ["accuracy >= 0.5"]
                versions:
                  rules:
                    python: memory_rules:decide
                  sloppy:
                    python: memory_rules:sloppy
            """
        ),
        encoding="utf-8",
    )


def evaluate(ws: Workspace, repeats: int, run_id: str | None = None, **kwargs: Any) -> runner.RunOutcome:
    data = load_dataset(Path("cases.jsonl"), ws.root)
    versions = [ws.version("menu", "rules"), ws.version("menu", "sloppy")]

    async def go() -> runner.RunOutcome:
        try:
            return await run_evaluation(ws, "menu", versions, data, repeats=repeats, concurrency=4, run_id=run_id,
                                        **kwargs)  # fmt: skip
        finally:
            await ws.aclose_providers()

    return asyncio.run(go())


def as_json(value: Any) -> str:
    return json.dumps(dataclasses.asdict(value), sort_keys=True, default=str)


@pytest.fixture
def workspace(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(DATABASE_URL_ENV, database_url)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("repeats", [1, 3])
def test_streamed_summaries_equal_the_summaries_of_every_loaded_cell(workspace: Path, repeats: int) -> None:
    write_workspace(workspace, n_cases=60, repeats=repeats)
    with Workspace.open(workspace) as ws:
        outcome = evaluate(ws, repeats)
        run = ws.store.get_run(outcome.run_id)
        feature = feature_for_run(run, ws.config.features["menu"])
        convert = Conversion.of(ws.config)
        report = build_report(ws.store, run, feature, convert, with_provenance=False)
        cases = {c["id"]: Case.from_json(c) for c in ws.store.run_cases(run.id)}
        streamed = summarize_stored(
            lambda vid: ws.store.iter_run_results(run.id, vid), run.versions, run.repeats, cases, feature, convert
        )
    assert [s.version_name for s in streamed] == ["rules", "sloppy"]
    for before, after in zip(report.summaries, streamed, strict=True):
        assert as_json(after) == as_json(before)
    rules, sloppy = streamed
    # The run exercised what the light cells drop: failed calls, ungradable answers, slices by tag and policy code.
    assert rules.metrics["error_rate"].value > 0 and sloppy.metrics["grader_error_rate"].value > 0
    assert "accuracy[tag=round]" in rules.metrics and "recall[violation=A]" in rules.metrics
    assert (rules.stability is not None) == (repeats > 1)


def test_a_resumed_run_runs_only_the_missing_cells_and_ends_as_one_run(workspace: Path) -> None:
    write_workspace(workspace, n_cases=40, repeats=2)
    with Workspace.open(workspace) as ws:
        whole = evaluate(ws, 2)
        gone = {("c0003", 0), ("c0003", 1), ("c0017", 1), ("c0039", 0)}
        with ws.store._write() as session:  # as if the run had been killed before these were written
            for case_id, repeat in gone:
                session.execute(
                    delete(RunResultRow).where(
                        RunResultRow.run_id == whole.run_id, RunResultRow.case_id == case_id,
                        RunResultRow.repeat == repeat, RunResultRow.version_id == ws.version("menu", "sloppy").id,
                    )
                )  # fmt: skip
        assert len(ws.store.done_cells(whole.run_id)) == 160 - len(gone)
        seen: list[Progress] = []
        resumed = evaluate(ws, 2, run_id=whole.run_id, on_progress=lambda p: seen.append(dataclasses.replace(p)))
        assert resumed.status == "finished"
        assert resumed.progress.skipped == 160 - len(gone) and resumed.progress.done == 160
        with ws.store._read() as session:
            keys = session.execute(
                select(RunResultRow.version_id, RunResultRow.case_id, RunResultRow.repeat).where(
                    RunResultRow.run_id == whole.run_id
                )
            ).all()
    assert len(keys) == 160 and len(set(keys)) == 160  # every cell once: none run twice, none left out
    assert seen and seen[-1].done == 160


def test_more_cells_than_a_batch_are_all_written_and_counted(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "BATCH_SIZE", 16)  # several full batches and a last partial one
    write_workspace(workspace, n_cases=45, repeats=1)
    with Workspace.open(workspace) as ws:
        seen: list[int] = []
        outcome = evaluate(ws, 1, on_progress=lambda p: seen.append(p.done))
        assert outcome.progress.done == 90 and len(ws.store.done_cells(outcome.run_id)) == 90
        tallies = ws.store.run_tallies([outcome.run_id])[outcome.run_id]
    assert sum(n for n, _, _ in tallies.values()) == 90
    assert seen == sorted(seen) and seen[-1] == 90 and len(seen) >= 90 // 16
    assert outcome.progress.passed == sum(ok for _, ok, _ in tallies.values())


def test_a_run_is_created_from_cases_read_once_in_chunks(store: Store) -> None:
    cases = ({"id": f"c{i:05d}", "vars": {"i": i}, "tags": ["t", "t", f"g{i % 3}"]} for i in range(1203))
    store.create_run(
        run_id="run-gen", feature="f", dataset="d.jsonl", dataset_sha256="0" * 64, repeats=1, currency="USD",
        versions=[("v", "vid")], cases=cases, config={},
    )  # fmt: skip
    assert store.get_run("run-gen").n_cases == 1203
    assert [c["id"] for c in store.run_cases("run-gen")] == [f"c{i:05d}" for i in range(1203)]
    assert store.run_tags("run-gen") == ["g0", "g1", "g2", "t"]


@given(
    repeats=st.integers(1, 3),
    n_cases=st.integers(1, 40),
    picks=st.sets(st.tuples(st.integers(0, 2), st.integers(0, 45), st.integers(0, 3)), max_size=80),
)
def test_done_cells_hold_exactly_the_stored_cells_of_the_run(
    repeats: int, n_cases: int, picks: set[tuple[int, int, int]]
) -> None:
    versions, case_ids = ["va", "vb"], [f"case-{i}" for i in range(n_cases)]
    # Stored cells may name a version, case or repeat outside the run (index 2, 45, 3): those are never asked.
    stored = [(["va", "vb", "vx"][v], f"case-{c}", r) for v, c, r in picks]
    done = DoneCells(versions, case_ids, repeats)
    done.mark_all([*stored, *stored])  # a cell seen twice counts once
    inside = {(v, c, r) for v, c, r in stored if v in versions and c in case_ids and r < repeats}
    assert len(done) == len(inside)
    for version in versions:
        for position, case_id in enumerate(case_ids):
            for repeat in range(repeats):
                assert done.has(version, position, repeat) == ((version, case_id, repeat) in inside)
