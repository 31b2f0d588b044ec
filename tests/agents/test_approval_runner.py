"""In an evaluation, a case whose model calls an ``approval: human`` tool is parked: not failed, not graded."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply

import andon
from andon.workspace import Workspace


def test_a_parked_cell_is_neither_an_error_nor_a_wrong_answer(tmp_path: Path) -> None:
    (tmp_path / "runner_tools.py").write_text("def refund(order_id):\n    raise AssertionError('never run')\n")
    (tmp_path / "cases.jsonl").write_text(json.dumps({"id": "r1", "vars": {"input": "refund A1"}, "expected": "x"}))
    with ThreadedStub(echo=True) as stub:
        tool = {"name": "refund", "python": "runner_tools:refund", "approval": "human"}
        step = {"name": "main", "provider": "stub", "prompt": "{{ input }}", "tools": [tool]}
        config = {
            "name": "runner-approval",
            "providers": {"stub": {"type": "openai", "base_url": stub.base_url, "api_key": "sk", "model": "m",
                                   "max_retries": 0}},
            "features": {"shop": {"dataset": "cases.jsonl", "graders": [{"type": "equals"}],
                                  "versions": {"v1": {"steps": [step]}}}},
        }  # fmt: skip
        (tmp_path / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
        stub.program(tool_calls_reply(tool_call("c1", "refund", {"order_id": "A1"})))
        sys.path.insert(0, str(tmp_path))
        try:
            report = andon.evaluate("shop", workspace=tmp_path)
        finally:
            sys.path.remove(str(tmp_path))
            sys.modules.pop("runner_tools", None)
    (cell,) = report.cells
    assert (cell.status, cell.passed, cell.grades, cell.failed_to_run) == ("parked", False, [], False)
    (summary,) = report.summaries
    assert summary.metrics["pass_rate"].n == 0  # no answer yet: not counted as a wrong one
    assert summary.metrics["error_rate"].value == 0.0
    with Workspace.open(tmp_path) as ws:
        (step,) = ws.store.get_output(cell.output_id or "").steps
    assert step["parked"]["remaining"][0]["name"] == "refund"  # what a resume would need is kept
