"""Multi-turn cases (a scripted list of user turns) through the runner, against the loopback stub."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.support.threaded_stub import ThreadedStub

import andon
from andon.workspace import Workspace

CASES = [
    {"id": "two-turns", "vars": {"turns": ["hello there", "where is my parcel"]}, "expected": "where is my parcel"},
    {"id": "one-turn", "vars": {"turns": ["refund please"]}, "expected": "refund please"},
    {"id": "bad-turns", "vars": {"turns": "not a list"}, "expected": "x"},
]


def write(root: Path, base_url: str) -> None:
    with (root / "cases.jsonl").open("w", encoding="utf-8") as handle:
        for case in CASES:
            handle.write(json.dumps(case) + "\n")
    (root / "andon.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: multiturn
            providers:
              stub: {{type: openai, base_url: "{base_url}", api_key: sk-test, model: stub-model, max_retries: 0}}
            features:
              support:
                dataset: cases.jsonl
                graders: [{{type: equals}}]
                versions:
                  chat:
                    system: "You are the support desk."
                    messages: "{{{{ history }}}}"
            """
        ),
        encoding="utf-8",
    )


def test_each_turn_is_one_call_with_the_history_so_far(tmp_path: Path) -> None:
    with ThreadedStub(echo=True) as stub:
        write(tmp_path, stub.base_url)
        report = andon.evaluate("support", workspace=tmp_path)
        sent = [r.body["messages"] for r in stub.received]
    cells = {c.case_id: c for c in report.cells}
    assert cells["two-turns"].passed and cells["one-turn"].passed  # the echo of the last turn
    assert cells["bad-turns"].status == "error" and "turns" in (cells["bad-turns"].error or "")
    assert len(sent) == 3  # two turns and one turn; the bad case called nothing
    by_last = {m[-1]["content"] if isinstance(m[-1]["content"], str) else m[-1]["content"][0]["text"]: m for m in sent}
    second = by_last["where is my parcel"]
    roles = [m["role"] for m in second]
    assert roles == ["system", "user", "assistant", "user"]  # the stub's first answer is in the history
    texts = [m["content"] if isinstance(m["content"], str) else m["content"][0]["text"] for m in second]
    assert texts[1:] == ["hello there", "hello there", "where is my parcel"]
    with Workspace.open(tmp_path) as ws:
        output = ws.store.get_output(cells["two-turns"].output_id or "")
    # Provenance keeps every call: one step per turn, each with its exact messages.
    assert [s["name"] for s in output.steps] == ["turn1.main", "turn2.main"]
    assert [m["role"] for m in output.steps[0]["messages"]] == ["system", "user"]
    assert output.steps[1]["messages"][2] == {"role": "assistant", "content": [{"type": "text", "text": "hello there"}]}
    assert output.input_tokens == sum(s["input_tokens"] for s in output.steps) > 0
