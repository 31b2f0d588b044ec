"""``andon.evaluate`` from Python gives what ``andon eval`` gives, stored the same way, on both backends."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.evals.test_runner import write_workspace

import andon
from andon.errors import AndonError, ConfigError
from andon.store.db import DATABASE_URL_ENV
from andon.workspace import Workspace

SRC = Path(__file__).resolve().parents[2] / "src"


def _cli_json(root: Path, *args: str) -> dict[str, object]:
    env = {**os.environ, "ANDON_LANG": "en", "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-m", "andon", "eval", *args, "--json"], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode in (0, 1), done.stderr
    return dict(json.loads(done.stdout))


def test_evaluate_gives_what_eval_gives(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    write_workspace(tmp_path, n_cases=12, criteria='"accuracy >= 0.9"')
    monkeypatch.setenv(DATABASE_URL_ENV, database_url)
    report = andon.evaluate("menu-review", workspace=tmp_path, versions=["naive", "rules"])
    assert isinstance(report, andon.RunReport) and report.run.status == "finished"
    by_name = {s.version_name: s for s in report.summaries}
    assert by_name["naive"].metrics["accuracy"].value == pytest.approx(8 / 12)  # every 3rd case is a reject
    assert by_name["rules"].metrics["accuracy"].value == 1.0
    assert not report.gate_passed and by_name["rules"].gate_passed

    cli = _cli_json(tmp_path, "menu-review", "--versions", "naive,rules")
    summaries = {s["version_name"]: s for s in cli["summaries"]}  # type: ignore[attr-defined]
    for name, summary in by_name.items():
        assert summaries[name]["metrics"]["accuracy"]["value"] == summary.metrics["accuracy"].value
        assert summaries[name]["gate_passed"] == summary.gate_passed
    assert cli["comparison"]["verdict"] == report.comparison.verdict  # type: ignore[index, union-attr]

    with Workspace.open(tmp_path) as ws:
        runs = ws.store.list_runs("menu-review")
    assert len(runs) == 2 and report.run.id in {r.id for r in runs}  # stored like the CLI's run


async def test_aevaluate_takes_an_open_workspace_and_a_slice_and_leaves_it_open(tmp_path: Path) -> None:
    write_workspace(tmp_path, n_cases=9)
    with Workspace.open(tmp_path) as ws:
        report = await andon.aevaluate("menu-review", workspace=ws, versions=["rules"], limit=4, repeats=2)
        assert report.run.n_cases == 4 and report.run.repeats == 2 and len(report.cells) == 8
        assert report.run.case_slice == "--limit 4"
        assert ws.store.get_run(report.run.id).status == "finished"  # the store is still open


def test_evaluate_inside_an_event_loop_says_to_await_aevaluate(tmp_path: Path) -> None:
    write_workspace(tmp_path, n_cases=3)

    async def inside() -> None:
        andon.evaluate("menu-review", workspace=tmp_path)

    with pytest.raises(AndonError, match="event loop") as refused:
        asyncio.run(inside())
    assert "aevaluate" in (refused.value.hint or "")


def test_evaluate_refuses_what_andon_eval_refuses(tmp_path: Path) -> None:
    write_workspace(tmp_path, n_cases=3)
    with pytest.raises(ConfigError, match="--budget"):
        andon.evaluate("menu-review", workspace=tmp_path, versions=["rules"], budget="5 EUR")
    with pytest.raises(andon.NotFoundError):
        andon.evaluate("no-such-feature", workspace=tmp_path)
