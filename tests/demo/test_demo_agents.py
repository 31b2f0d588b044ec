"""The demo's support-flow part: its workspace is valid; against the loopback stub it evaluates both flow versions
by their paths, prints ``andon compare`` in English and Korean, and a served refund parks, is approved by
``andon review approve`` in another process, and resumes at the refund desk; on the embedded model it runs whole."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.stub import Scripted
from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply

from andon.config.loader import load_config
from andon.demo import support_flow as sf
from andon.demo.support_flow_tools import refund_records
from andon.evals.dataset import load_dataset
from andon.review import queue
from andon.versions.canonical import build_version
from andon.workspace import Workspace

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def tools_module() -> Iterator[None]:
    """The workspace's support_tools module is imported by name: drop it so each test binds its own folder."""
    yield
    sys.modules.pop("support_tools", None)


def test_the_workspace_has_two_flows_over_both_features_and_8_to_12_multi_turn_cases(
    tmp_path: Path, tools_module: None
) -> None:
    root = sf.create_workspace(tmp_path, "ko", fresh=False)
    loaded = load_config(root / "andon.yaml")
    cases = 0
    for feature in sf.FEATURES:
        config = loaded.config.features[feature]
        versions = [build_version(feature, n, s, loaded.config) for n, s in config.versions.items()]
        assert [v.name for v in versions] == list(sf.VERSIONS)
        v1, v2 = versions
        assert v1.flow is not None and v2.flow is not None
        assert (v1.flow.clarify, v2.flow.clarify) == (False, True) and v1.id != v2.id
        refund = next(x for x in v2.flow.agents["refund"].tools if getattr(x, "name", "") == "refund")
        assert getattr(refund, "approval", None) == "human"
        dataset = load_dataset(Path(config.dataset or ""), root)
        assert all(isinstance(c.vars["turns"], list) for c in dataset.cases)
        cases += len(dataset.cases)
    assert 8 <= cases <= 12
    graders = {g.type for f in sf.FEATURES for g in loaded.config.features[f].graders}
    assert {"handoff", "tool-called", "tool-not-called", "clarify", "final-state"} <= graders
    # The same workspace is written again without losing the user's edits; --fresh drops the refunds too.
    (root / "data" / "orders.json").write_text('{"A9999": {"status": "배송중"}}', encoding="utf-8")
    (root / "refunds.sqlite").write_bytes(b"")
    sf.create_workspace(tmp_path, "en", fresh=False)
    assert "A9999" in (root / "data" / "orders.json").read_text(encoding="utf-8")
    sf.create_workspace(tmp_path, "en", fresh=True)
    assert not (root / "refunds.sqlite").exists() and "A1001" in (root / "data" / "orders.json").read_text("utf-8")


def handoff(call_id: str, target: str) -> Scripted:
    return tool_calls_reply(tool_call(call_id, f"transfer_to_{target}", {"reason": "route"}))


def script(stub: ThreadedStub) -> None:
    """What the model says, in the order andon asks (one cell at a time, versions outer, cases inner)."""
    status = (
        handoff("h1", "order"),
        tool_calls_reply(tool_call("c1", "lookup_order", {"order_id": "A1001"})),
        Scripted(content="A1001 자전거는 배송중입니다."),
    )
    stub.program(
        *status,  # market-support, status-shipping, v1-basic
        *status,  # … v2-clarify
        Scripted(content="주문번호를 알려 주세요."),  # market-triage, vague-refund, v1: an answer, not a question
        tool_calls_reply(tool_call("q1", "ask_clarifying_question", {"question": "어떤 주문을 환불할까요?"})),
        # the served refund (v2-clarify): triage → refund desk → refund of the wrong amount (parks)
        handoff("h2", "refund"),
        tool_calls_reply(tool_call("c3", "refund", {"order_id": "A1002", "amount": 120000, "reason": "파손"})),
        # after `andon review approve --arguments` (amount corrected, another process): it asks again (parks)
        tool_calls_reply(tool_call("c4", "refund", {"order_id": "A1002", "amount": 12000})),
        # after `andon review reject` (a second refund of the order): the refund desk answers
        Scripted(content="12,000원 환불을 접수했습니다."),
    )


def test_the_part_runs_end_to_end_against_the_stub(
    tmp_path: Path, tools_module: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from andon.cli.demo_agents import run_agents_demo

    monkeypatch.setenv("ANDON_LANG", "en")
    monkeypatch.delenv("ANDON_DATABASE_URL", raising=False)
    with ThreadedStub(echo=True) as stub:
        script(stub)
        providers = (
            f"  {sf.PROVIDER}:\n    type: openai\n    base_url: {stub.base_url}\n    api_key: sk\n"
            "    model: stub-model\n    max_retries: 0"
        )
        part = run_agents_demo(tmp_path, "en", fresh=True, limit=1, concurrency=1, providers=providers)
        received = stub.received
    out = capsys.readouterr().out
    assert len(received) == 12  # every scripted answer used, none more: the flow asked exactly this
    support, triage = part.reports["market-support"], part.reports["market-triage"]
    assert [(c.version_name, c.passed) for c in support.cells] == [("v1-basic", True), ("v2-clarify", True)]
    assert [(c.version_name, c.passed) for c in triage.cells] == [("v1-basic", False), ("v2-clarify", True)]
    assert "triage → order → lookup_order(A1001) → answer" in out
    assert "triage → clarify" in out
    assert out.count("$ andon compare v1-basic v2-clarify") == 2
    assert re.search(r"[가-힣]", out.split("$ andon compare")[-1])  # the comparison in Korean too

    approval = part.approval
    assert approval is not None and approval.approved is not None
    assert approval.approved.returncode == 0, approval.approved.stderr[-2000:]
    assert approval.records == [("A1002", 12000)] == refund_records(part.root)
    assert approval.state_passed is True
    path = "triage → refund → refund(A1002, 12000, 파손) [edited] → refund(A1002, 12000) [rejected] → answer"
    assert approval.path == path
    assert json.loads(approval.approved.stdout)["output_text"] == "12,000원 환불을 접수했습니다."
    assert "$ andon review approve rev_" in out and '"amount": 12000' in out and "$ andon review reject rev_" in out
    last = received[-1].body["messages"]
    assert last[0]["role"] == "system" and "환불 담당" in last[0]["content"]  # resumed at the refund desk
    with Workspace.open(part.root) as ws:
        trace = ws.store.get_trace(approval.parked.trace_id)
        item = queue.get(ws.store, approval.parked.review_id or "")
    assert (trace["status"], trace["output_text"]) == ("ok", "12,000원 환불을 접수했습니다.")
    assert item.decided_by == "demo-lead" and item.label == "edited"
    assert item.decision["arguments"] == {"order_id": "A1002", "amount": 12000, "reason": "파손"}
    assert (part.root / "market-support.html").is_file()


@pytest.mark.local_model
def test_andon_demo_agents_runs_on_the_embedded_model(tmp_path: Path) -> None:
    env = {**os.environ, "ANDON_LANG": "en", "COLUMNS": "250"}
    env.pop("ANDON_WORKSPACE", None)
    result = subprocess.run(
        [sys.executable, "-m", "andon", "demo", "--path", str(tmp_path / "demo"), "--agents", "--limit", "2"],
        capture_output=True, text=True, env=env, timeout=1200,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    root = tmp_path / "demo" / sf.FOLDER
    with Workspace.open(root) as ws:
        for feature in sf.FEATURES:
            (run, *_) = ws.store.list_runs(feature)
            cells = list(ws.store.iter_run_results(run.id))
            assert sorted(c["version_name"] for c in cells) == sorted([*sf.VERSIONS, *sf.VERSIONS])
    assert result.stdout.count("$ andon compare v1-basic v2-clarify") == 2
    # Whatever the small model did, the approval part says so: approved and resumed, or nothing reached refund.
    said = json.dumps(result.stdout)
    assert ("Final-state check" in said) or ("No refund request reached the refund tool" in said)


def test_a_parked_path_ends_with_the_call_that_waits() -> None:
    from andon.agents.trajectory import trajectory_of

    waiting = {"name": "refund", "arguments": '{"order_id": "A1005", "amount": 210000}', "id": "c2"}
    steps = [
        {"name": "turn1.triage", "agent": "triage", "handoff": {"from": "triage", "to": "refund"}, "attempts": 1},
        {"name": "turn1.refund", "agent": "refund", "attempts": 1, "parked": {"remaining": [waiting]},
         "tools": [{"name": "lookup_order", "arguments": '{"order_id": "A1005"}', "result": "{}", "error": None}]},
    ]  # fmt: skip
    shown = sf.path_text(trajectory_of(steps), steps)
    assert shown == "triage → refund → lookup_order(A1005) → refund(A1005, 210000) ⏸"
    assert sf.path_text(trajectory_of(steps[:1])).startswith("triage → ")


def test_the_leads_rule_and_the_final_state_check(tmp_path: Path, tools_module: None) -> None:
    from andon.agents.trajectory import trajectory_of
    from andon.demo.support_flow_tools import issue_refund, refund_state
    from andon.evals.model import Case

    root = sf.create_workspace(tmp_path, "en", fresh=True)
    approved: set[str] = set()
    first = sf.review_refund(root, {"order_id": "a1002", "amount": 99}, approved)
    assert (first.action, first.arguments) == ("approve", {"order_id": "A1002", "amount": 12000})
    assert sf.review_refund(root, {"order_id": "A1002", "amount": 12000}, approved).action == "reject"
    assert sf.review_refund(root, {"order_id": "B1", "amount": 1}, set()).action == "reject"
    exact = sf.review_refund(root, {"order_id": "A1004", "amount": 45000}, set())
    assert (exact.action, exact.arguments) == ("approve", None)

    def ran(order: str, amount: int) -> list[dict[str, object]]:
        call = {"name": "refund", "arguments": json.dumps({"order_id": order, "amount": amount}), "error": None,
                "result": "{}", "approval": {"status": "approved", "by": "lead"}}  # fmt: skip
        return [{"name": "turn1.refund", "agent": "refund", "attempts": 1, "tools": [call]}]

    allowed = Case("refund-broken", {"order_id": "A1002", "refund": "yes"})
    assert refund_state(root, allowed, trajectory_of(ran("A1002", 12000)))["passed"] is False  # no record yet
    issue_refund(root, "A1002", 12000)
    assert refund_state(root, allowed, trajectory_of(ran("A1002", 12000)))["passed"] is True
    issue_refund(root, "A1002", 12000)  # twice: more than was paid
    assert refund_state(root, allowed, trajectory_of(ran("A1002", 12000)))["passed"] is False
    forbidden = Case("refund-already", {"order_id": "A1005", "refund": "no"})
    assert refund_state(root, forbidden, trajectory_of([]))["passed"] is True
    issue_refund(root, "A1005", 1)
    assert refund_state(root, forbidden, trajectory_of([]))["passed"] is False
