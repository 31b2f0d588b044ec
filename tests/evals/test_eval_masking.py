"""An evaluation of a ``send: masked`` feature sends what the gateway would: placeholders, restored for grading."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from bench.stub import StubServer

import andon
from andon.workspace import Workspace

CASES = [
    {"id": "phone", "vars": {"input": "연락처 010-2222-3333 로 주세요"}, "expected": "연락처 010-2222-3333 로 주세요"},
    {
        "id": "mail",
        "vars": {"input": "메일 lee@example.org, 또 lee@example.org"},
        "expected": "메일 lee@example.org, 또 lee@example.org",
    },
    {"id": "none", "vars": {"input": "개인정보 없음"}, "expected": "개인정보 없음"},
]


def _write(root: Path, base_url: str, restore: bool) -> None:
    with (root / "cases.jsonl").open("w", encoding="utf-8") as handle:
        for case in CASES:
            handle.write(json.dumps(case, ensure_ascii=False) + "\n")
    (root / "andon.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: masking-eval
            providers:
              stub: {{type: openai, base_url: "{base_url}", api_key: sk-test, model: stub-model, max_retries: 0}}
            features:
              echo:
                dataset: cases.jsonl
                graders: [{{type: equals}}]
                serve: {{data_use: {{send: masked, restore: {str(restore).lower()}}}}}
                versions:
                  v1: {{provider: stub, prompt: "{{{{ input }}}}"}}
            """
        ),
        encoding="utf-8",
    )


async def test_an_evaluation_masks_what_it_sends_and_grades_the_restored_answer(tmp_path: Path) -> None:
    async with StubServer(echo=True) as stub:
        _write(tmp_path, stub.base_url, restore=True)
        with Workspace.open(tmp_path) as ws:
            report = await andon.aevaluate("echo", workspace=ws, use_cache=False)
            outputs = [ws.store.get_output(cell.output_id) for cell in report.cells]
        sent = [r.body["messages"][-1]["content"] for r in stub.received]
    assert sorted(sent) == sorted(["연락처 [PHONE_1] 로 주세요", "메일 [EMAIL_1], 또 [EMAIL_1]", "개인정보 없음"])
    assert all(cell.passed for cell in report.cells)  # the echo came back restored, equal to the expected text
    for output in outputs:
        assert "010-2222-3333" not in json.dumps(output.messages) and "lee@example.org" not in json.dumps(
            output.messages
        )
        assert output.steps[0]["masking"]["send"] == "masked"


async def test_without_restore_the_evaluation_grades_what_the_model_said(tmp_path: Path) -> None:
    async with StubServer(echo=True) as stub:
        _write(tmp_path, stub.base_url, restore=False)
        with Workspace.open(tmp_path) as ws:
            report = await andon.aevaluate("echo", workspace=ws, use_cache=False)
    passed = {cell.case_id: cell.passed for cell in report.cells}
    assert passed == {"phone": False, "mail": False, "none": True}
