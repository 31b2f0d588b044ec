"""Planning a run (slices, resume) in evals, and what `andon eval` reports when cells cannot run or be graded.

Issue 16 items 4, 5 and 15; issue 7 item 5 (run planning lives in ``andon.evals.plan``, the CLI only prints).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from andon.errors import ConfigError
from andon.evals.plan import CaseSlice, plan_run
from andon.store import Store
from andon.workspace import Workspace

RULES = """
def review(variables):
    return {"decision": "approve" if "ok" in variables["description"] else "reject"}

def grumpy(output, case):
    if case.id == "c2":
        raise RuntimeError("grader bug")
    return True
"""


def write_workspace(root: Path, *, graders: str = "- {type: label, path: decision}", version: str = "",
                    criteria: str = "") -> None:  # fmt: skip
    (root / "plan_rules.py").write_text(RULES, encoding="utf-8")
    with (root / "cases.jsonl").open("w", encoding="utf-8") as handle:
        for i in range(6):
            tags = ["hard"] if i % 3 == 0 else ["easy"]
            label = "approve" if i % 2 == 0 else "reject"
            description = f"{'ok' if i % 2 == 0 else 'bad'} menu {i}"
            case = {"id": f"c{i}", "vars": {"description": description}, "label": label, "tags": tags}
            handle.write(json.dumps(case) + "\n")
    version = version or "python: plan_rules:review"
    (root / "andon.yaml").write_text(
        textwrap.dedent(
            """\
            name: plan-test
            providers:
              stub:
                type: openai
                base_url: http://127.0.0.1:9/v1
                api_key: sk-test
                model: stub-model
                max_retries: 0
            features:
              f:
                dataset: cases.jsonl
                graders:
                  GRADERS
                criteria: [CRITERIA]
                versions:
                  rules:
                    VERSION
            """
        )
        .replace("GRADERS", graders)
        .replace("CRITERIA", criteria)
        .replace("VERSION", version),
        encoding="utf-8",
    )


def andon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_plan_slices_by_tag_case_and_limit(tmp_path: Path) -> None:
    write_workspace(tmp_path)
    with Workspace.open(tmp_path) as ws:
        assert [c.id for c in plan_run(ws, "f").dataset.cases] == [f"c{i}" for i in range(6)]
        hard = plan_run(ws, "f", case_slice=CaseSlice(tags=("hard",)))
        assert [c.id for c in hard.dataset.cases] == ["c0", "c3"]
        assert [c.id for c in plan_run(ws, "f", case_slice=CaseSlice(limit=2)).dataset.cases] == ["c0", "c1"]
        picked = plan_run(ws, "f", case_slice=CaseSlice(case_ids=("c4", "c1")))
        assert [c.id for c in picked.dataset.cases] == ["c1", "c4"]  # dataset order
        both = plan_run(ws, "f", case_slice=CaseSlice(tags=("easy",), limit=3), repeats=2)
        assert [c.id for c in both.dataset.cases] == ["c1", "c2", "c4"] and both.total_cells == 6
        with pytest.raises(ConfigError, match=r"no case 'c44'") as unknown:
            plan_run(ws, "f", case_slice=CaseSlice(case_ids=("c44",)))
        assert unknown.value.hint == "did you mean 'c4'?" and "cases.jsonl" in (unknown.value.where or "")
        with pytest.raises(ConfigError, match=r"no case is tagged 'medium'.*easy, hard"):
            plan_run(ws, "f", case_slice=CaseSlice(tags=("medium",)))


def test_a_sliced_run_records_its_slice_and_resumes_only_its_cases(tmp_path: Path) -> None:
    write_workspace(tmp_path)
    result = andon("eval", "f", "--tag", "hard", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["run"]["n_cases"] == 2 and report["summaries"][0]["n_cells"] == 2
    assert report["run"]["case_slice"] == "--tag hard"
    with Store.open(workspace=tmp_path) as store:
        run = store.list_runs("f")[0]
    with Workspace.open(tmp_path) as ws:
        resumed = plan_run(ws, resume=run.id)
        assert resumed.run_id == run.id and [c.id for c in resumed.dataset.cases] == ["c0", "c3"]
        with pytest.raises(ConfigError, match="--resume"):
            plan_run(ws, resume=run.id, case_slice=CaseSlice(limit=1))
    limited = andon("eval", "f", "--limit", "1", "--case", "c2,c5", "--json", cwd=tmp_path)
    assert limited.returncode == 0, limited.stderr
    assert [c["id"] for c in json.loads(limited.stdout)["cases"]] == ["c2"]
    unknown = andon("eval", "f", "--case", "c55", cwd=tmp_path)
    assert unknown.returncode == 2 and "did you mean" in unknown.stderr and "Traceback" not in unknown.stderr


def test_a_run_whose_cells_all_errored_fails_and_prints_the_first_errors(tmp_path: Path) -> None:
    version = 'provider: stub\n        prompt: "{{ nope }}"'
    write_workspace(tmp_path, version=version, criteria='"p95_latency_ms <= 8000"')
    result = andon("eval", "f", cwd=tmp_path)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "'nope' is undefined" in result.stderr and "Traceback" not in result.stderr
    assert "no data" in result.stdout  # the latency criterion over zero successful calls
    with Store.open(workspace=tmp_path) as store:
        run = store.list_runs("f")[0]
        assert run.status == "failed" and "'nope' is undefined" in (run.note or "")


def test_a_wrong_judge_is_an_error_of_every_cell_not_a_zero(tmp_path: Path) -> None:
    graders = "- {type: llm-rubric, name: polite, judge: gpt4, rubric: 'polite?'}"
    write_workspace(tmp_path, graders=graders)
    result = andon("eval", "f", "--json", cwd=tmp_path)
    assert result.returncode == 3, result.stderr  # nothing could be graded: a failed run
    summary = json.loads(result.stdout)["summaries"][0]
    assert summary["metrics"]["grader_error_rate"]["value"] == 1.0
    assert summary["metrics"]["error_rate"]["value"] == 0.0
    assert summary["metrics"]["pass_rate"]["n"] == 0 and not summary["gate_passed"]
    first = summary["first_errors"][0]
    assert first["kind"] == "grader" and first["count"] == 6
    assert "no provider 'gpt4'" in first["message"] and "KeyError" not in first["message"]


def test_some_grader_errors_fail_the_gate_and_show_per_grader_pass_rates(tmp_path: Path) -> None:
    graders = (
        "- {type: label, path: decision}\n"
        "      - {type: python, name: grumpy, function: 'plan_rules:grumpy', weight: 0}"
    )
    write_workspace(tmp_path, graders=graders, criteria='"pass_rate[label:decision] >= 0.9"')
    result = andon("eval", "f", "--gate", "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)["summaries"][0]
    metrics = summary["metrics"]
    assert metrics["grader_error_rate"]["value"] == pytest.approx(1 / 6)
    assert metrics["pass_rate[label:decision]"]["value"] == 1.0 and metrics["pass_rate[label:decision]"]["n"] == 6
    assert metrics["pass_rate[grumpy]"]["n"] == 5
    assert summary["criteria"][0]["passed"] and any("grader bug" in e for e in summary["gate_errors"])
    text = andon("report", "latest", cwd=tmp_path)
    assert "grader bug" in text.stdout and "Grader errors" in text.stdout


def test_criteria_name_graders_with_a_suggestion(tmp_path: Path) -> None:
    graders = "- {type: label, name: polite, path: decision}"
    write_workspace(tmp_path, graders=graders, criteria='"pass_rate[plite] >= 0.9"')
    result = andon("check", cwd=tmp_path)
    assert result.returncode == 2 and "did you mean 'polite'" in result.stderr


def test_runs_lists_results_per_version(tmp_path: Path) -> None:
    write_workspace(tmp_path)
    assert andon("eval", "f", cwd=tmp_path).returncode == 0
    listed = andon("runs", "--json", cwd=tmp_path)
    row = json.loads(listed.stdout)[0]
    assert row["results"] == [{"version": "rules", "cells": 6, "passed": 6, "errors": 0}]
    table = andon("runs", cwd=tmp_path)
    assert "rules 6/6" in table.stdout


def test_run_tallies_count_in_the_database(store: Store) -> None:
    from andon.evals.model import CellResult

    store.create_run(
        run_id="run_t", feature="f", dataset="cases.jsonl", dataset_sha256="0" * 64, repeats=1, currency="USD",
        versions=[("a", "id-a"), ("b", "id-b")], cases=[{"id": "c0"}, {"id": "c1"}, {"id": "c2"}], config={},
    )  # fmt: skip

    def cell(version: str, case: str, passed: bool, status: str = "ok") -> CellResult:
        return CellResult("run_t", version, version, case, 0, None, status, float(passed), passed)

    store.save_cells([], [cell("id-a", "c0", True), cell("id-a", "c1", False, "error"), cell("id-a", "c2", True),
                          cell("id-b", "c0", False)])  # fmt: skip
    assert store.run_tallies(["run_t", "run_missing"]) == {"run_t": {"id-a": (3, 2, 1), "id-b": (1, 0, 0)}}
