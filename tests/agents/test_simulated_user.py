"""A simulated user plays multi-turn cases through the runner, against two loopback stubs (the user, the feature)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.stub import Scripted
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply

import andon
from andon.store.models import OutputRow
from andon.workspace import Workspace

PRICES = [
    {"provider": "user", "model": "*", "input_per_1m": 1_000_000, "output_per_1m": 0, "currency": "KRW"},
    {"provider": "stub", "model": "*", "input_per_1m": 0, "output_per_1m": 1_000_000, "currency": "KRW"},
]


def says(message: str, done: bool = False) -> Scripted:
    """The user model's JSON-schema'd reply."""
    return Scripted(content=json.dumps({"message": message, "goal_reached": done}))


def write(root: Path, feature_url: str, user_url: str, cases: list[dict[str, Any]], **dataset: Any) -> None:
    (root / "cases.yaml").write_text(json.dumps({"cases": cases, **dataset}), encoding="utf-8")
    provider = {"type": "openai", "api_key": "sk", "max_retries": 0}
    config = {
        "name": "sim",
        "currency": "KRW",
        "prices": PRICES,
        "providers": {
            "stub": provider | {"base_url": feature_url, "model": "stub-model"},
            "user": provider | {"base_url": user_url, "model": "user-model"},
        },
        "features": {
            "support": {
                "dataset": "cases.yaml",
                "graders": [{"type": "turns", "at_most": 2}],
                "versions": {
                    "chat": {"provider": "stub", "system": "You are the support desk.", "messages": "{{ history }}"}
                },
            }
        },
    }
    (root / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")


def stored(root: Path, run_id: str) -> list[OutputRow]:
    with Workspace.open(root) as ws, Session(ws.store.engine) as session:
        rows = session.scalars(select(OutputRow)).all()
        return [r for r in rows if r.context.get("run_id") == run_id]


USER = {"model": "user", "persona": "a seller whose buyer never paid", "goal": "learn how to cancel", "max_turns": 4}


def test_the_user_plays_until_it_says_its_goal_is_reached(tmp_path: Path) -> None:
    with ThreadedStub(echo=True) as feature, ThreadedStub() as user:
        user.program(says("my buyer never paid"), says("how do I cancel?"), says("thanks", done=True))
        write(tmp_path, feature.base_url, user.base_url, [{"id": "cancel", "simulated_user": USER}])
        report = andon.evaluate("support", workspace=tmp_path, concurrency=1)
        asked = [r.body for r in user.received]
        sent = [r.body["messages"] for r in feature.received]
    cell = report.cells[0]
    assert cell.status == "ok" and cell.output_text == "how do I cancel?"  # the echo of the last user turn
    assert cell.passed  # the trajectory grader reads two turns
    # The feature saw the user's messages as its user turns, with its own answers in the history.
    assert [m["role"] for m in sent[1]] == ["system", "user", "assistant", "user"]
    # The user model read the conversation so far and was asked for the reply schema.
    assert len(asked) == 3
    assert "learn how to cancel" in asked[0]["messages"][0]["content"]
    assert asked[0]["response_format"]["json_schema"]["schema"]["required"] == ["message", "goal_reached"]
    last_prompt = json.dumps(asked[2]["messages"][-1])
    assert "my buyer never paid" in last_prompt and "how do I cancel?" in last_prompt
    grade = next(g for g in cell.grades if g.grader == "simulated_user")
    assert grade.weight == 0 and grade.passed and grade.figures is not None
    assert grade.figures["turns"] == 2 and grade.figures["user_calls"] == 3
    rows = stored(tmp_path, report.run.id)
    users = [r for r in rows if r.context.get("role") == "simulated_user"]
    own = [r for r in rows if r.id == cell.output_id]
    assert len(users) == 3 and all(r.context["case_id"] == "cancel" for r in users)
    assert {r.provider for r in users} == {"user"} and own[0].provider == "stub"
    # Costs stay apart: the user's (priced by input) in its grade, the feature's (priced by output) on the cell.
    assert grade.figures["user_cost"] == sum(r.cost or 0 for r in users) > 0
    assert cell.cost == own[0].cost and own[0].cost == sum(s["cost"] for s in own[0].steps)
    assert [s["name"] for s in own[0].steps] == ["turn1.main", "turn2.main"]  # no user call in the feature's steps


def test_max_turns_ends_a_conversation_whose_goal_is_never_reached(tmp_path: Path) -> None:
    with ThreadedStub(echo=True) as feature, ThreadedStub() as user:
        user.program(*[says(f"still waiting {n}") for n in range(10)])
        case = {"id": "stuck", "simulated_user": USER | {"max_turns": 3}}
        write(tmp_path, feature.base_url, user.base_url, [case])
        report = andon.evaluate("support", workspace=tmp_path, concurrency=1)
        assert len(feature.received) == 3 and len(user.received) == 4  # the fourth reply is not sent
    cell = report.cells[0]
    assert cell.status == "ok" and not cell.passed  # three turns is more than the grader's at_most: 2
    grade = next(g for g in cell.grades if g.grader == "simulated_user")
    assert not grade.passed and grade.reason is not None and "max_turns" in grade.reason


def test_a_reply_off_the_schema_is_the_cases_error_and_the_dataset_default_applies(tmp_path: Path) -> None:
    with ThreadedStub(echo=True) as feature, ThreadedStub() as user:
        user.program(says("hello"), Scripted(content="I am not JSON"))
        cases = [{"id": "broken", "simulated_user": {"goal": "get a refund"}}]
        write(tmp_path, feature.base_url, user.base_url, cases, simulated_user=USER)
        report = andon.evaluate("support", workspace=tmp_path, concurrency=1)
        first = user.received[0].body["messages"][0]["content"]
    cell = report.cells[0]
    assert "get a refund" in first and "never paid" in first  # the case's goal over the dataset's persona
    assert cell.status == "error" and "simulated user" in (cell.error or "")
    grade = next(g for g in cell.grades if g.grader == "simulated_user")
    assert "user_error" in (grade.reason or "")


def test_the_features_limits_end_the_conversation(tmp_path: Path) -> None:
    flow = {
        "entry": "triage",
        "agents": {
            "triage": {
                "provider": "stub",
                "instructions": "Route.",
                "messages": "{{ history }}",
                "handoffs": ["refund"],
            },
            "refund": {"provider": "stub", "instructions": "Refund."},
        },
        "limits": {"max_turns": 1},
    }
    with ThreadedStub(echo=True) as feature, ThreadedStub() as user:
        user.program(says("I want my money back"), says("hello?"))
        feature.program(tool_calls_reply(tool_call("h1", "transfer_to_refund", {})))
        write(tmp_path, feature.base_url, user.base_url, [{"id": "limited", "simulated_user": USER}])
        config = json.loads((tmp_path / "andon.yaml").read_text(encoding="utf-8"))
        config["features"]["support"]["versions"] = {"flow": flow}
        (tmp_path / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
        report = andon.evaluate("support", workspace=tmp_path, concurrency=1)
        assert len(user.received) == 1  # the flow stopped at its limit: the user was not asked again
    cell = report.cells[0]
    assert cell.status == "error" and "limits.max_turns" in (cell.error or "")
    grade = next(g for g in cell.grades if g.grader == "simulated_user")
    assert grade.figures is not None and grade.figures["turns"] == 1 and "feature" in (grade.reason or "")
