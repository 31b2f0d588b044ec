"""A finished run's summaries are stored once built, read back as they were, and not summarised again; a
running run's are never stored, and a change of criteria is summarised afresh."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.web.webruns_support import synthetic_run, write_runs_workspace

import andon.web.runfigures as runfigures
from andon.evals.model import RunReport, VersionSummary
from andon.evals.report.export import report_to_dict
from andon.store import Store
from andon.web.runfigures import FigureCache, run_figures, stored_key, stored_summaries
from andon.workspace import Workspace


def _encoded(summaries: list[VersionSummary], ws: Workspace, run_id: str) -> str:
    report = RunReport(run=ws.store.get_run(run_id), summaries=summaries, comparison=None, cases=[], cells=[])
    return json.dumps(report_to_dict(report), sort_keys=True, default=lambda n: n.item())  # numpy counts


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, str]:
    folder = write_runs_workspace(tmp_path / "ws")
    return folder, synthetic_run(folder, cases=120)


def test_the_first_build_is_stored_and_read_back_unchanged(folder: tuple[Path, str], monkeypatch: Any) -> None:
    path, run_id = folder
    with Workspace.open(path) as ws:
        run = ws.store.get_run(run_id)
        key = stored_key(ws, run)
        assert key is not None and ws.store.run_summary(run_id, key) is None
        built = run_figures(ws, FigureCache(), run)
        stored = stored_summaries(ws, run, key)
        assert stored is not None and [s.version_name for s in stored] == [n for n, _ in run.versions]
        assert _encoded(stored, ws, run_id) == _encoded(built.summaries, ws, run_id)
        assert [s.gate_passed for s in stored] == [s.gate_passed for s in built.summaries]

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("a stored run was summarised again")

        monkeypatch.setattr(runfigures, "summarize_version", refuse)
        again = run_figures(ws, FigureCache(), run)  # a new app: its cache is empty, the store is not
        assert _encoded(again.summaries, ws, run_id) == _encoded(built.summaries, ws, run_id)


def test_new_criteria_or_a_running_run_are_not_read_from_the_store(folder: tuple[Path, str]) -> None:
    path, run_id = folder
    with Workspace.open(path) as ws:
        run = ws.store.get_run(run_id)
        before = stored_key(ws, run)
        run_figures(ws, FigureCache(), run)
    config = json.loads((path / "andon.yaml").read_text(encoding="utf-8"))
    config["features"]["menu"]["criteria"] = ["accuracy >= 0.99"]
    (path / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    with Workspace.open(path) as ws:
        after = stored_key(ws, run)
        assert after is not None and after != before and ws.store.run_summary(run_id, after) is None
        figures = run_figures(ws, FigureCache(), run)
        assert [c.text for c in figures.summaries[0].criteria] == ["accuracy >= 0.99"]
        assert ws.store.run_summary(run_id, after) is not None
        ws.store.set_run_status(run_id, "running", None)
        running = ws.store.get_run(run_id)
        assert stored_key(ws, running) is None
        run_figures(ws, FigureCache(), running)


def test_a_stored_summary_stays_as_first_written_and_goes_with_its_run(store: Store) -> None:
    store.create_run(run_id="run-1", feature="menu", dataset="d.jsonl", dataset_sha256="0" * 64, repeats=1,
                     currency="KRW", versions=[], cases=[], config={})  # fmt: skip
    store.save_run_summary("run-1", "k" * 64, '{"a": NaN}')
    store.save_run_summary("run-1", "k" * 64, '{"a": 2}')  # a second builder racing the first
    assert store.run_summary("run-1", "k" * 64) == '{"a": NaN}'
    assert store.run_summary("run-1", "other") is None


def test_damaged_stored_text_is_summarised_again(folder: tuple[Path, str]) -> None:
    path, run_id = folder
    with Workspace.open(path) as ws:
        run = ws.store.get_run(run_id)
        key = stored_key(ws, run)
        assert key is not None
        ws.store.save_run_summary(run_id, key, '{"format": "something else"}')
        assert stored_summaries(ws, run, key) is None
        assert len(run_figures(ws, FigureCache(), run).summaries) == 2
