"""Decisions are checked against the feature's labels and output schema, in one place for every face."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.gateway_server import GatewayServer
from tests.support.review_fixtures import sentiment_item, write_sentiment_workspace

import andon
from andon.client import InvalidRequestError
from andon.errors import ConfigError
from andon.gateway.auth import create_key
from andon.review import queue
from andon.review.decisions import InvalidDecisionError, rules_of
from andon.workspace import Workspace

REPLY = "죄송합니다. 다시 보내 드릴게요."


@pytest.fixture
def ws(tmp_path: Path, database_url: str) -> Iterator[Workspace]:
    with Workspace.open(write_sentiment_workspace(tmp_path), database_url=database_url) as opened:
        yield opened


def decide(ws: Workspace, review_id: str, **given: object) -> queue.ReviewItem:
    values: dict[str, object] = {"decision": None, "label": None, "comment": None, "actor": "jieun", **given}
    return queue.decide(ws.store, review_id, rules=rules_of(ws), **values)  # type: ignore[arg-type]


def test_known_labels_come_from_the_dataset_the_grader_and_the_schema(ws: Workspace) -> None:
    rules = rules_of(ws)
    assert rules(sentiment_item(1)).labels == ("positive", "negative", "neutral")  # the dataset's labels
    assert rules(sentiment_item(1, feature="rating")).labels == ("1", "2", "3", "4", "5")  # the schema's enum
    assert rules(sentiment_item(1, feature="free")).labels == ()  # nothing known: any label goes
    assert rules(sentiment_item(1, feature="gone")).labels == ()  # a feature no longer in andon.yaml


def test_a_misspelt_label_in_the_decision_is_refused_with_did_you_mean(ws: Workspace) -> None:
    queued = sentiment_item(1)
    ws.store.add_review_item(queued)
    with pytest.raises(InvalidDecisionError, match="did you mean 'positive'") as typo:
        decide(ws, queued.id, decision={"sentiment": "positve", "reply": REPLY})
    assert typo.value.where == "decision.sentiment" and "negative" in (typo.value.hint or "")
    assert isinstance(typo.value, ConfigError)  # the CLI exits 2, the gateway answers 400
    with pytest.raises(InvalidDecisionError, match="did you mean 'positive'") as bare:
        decide(ws, queued.id, label="positve")
    assert bare.value.where == "label"
    assert queue.get(ws.store, queued.id).status == "pending"  # nothing was stored


def test_a_decision_must_match_the_output_schema(ws: Workspace) -> None:
    queued = sentiment_item(1)
    ws.store.add_review_item(queued)
    with pytest.raises(InvalidDecisionError, match="'reply' is a required property") as missing:
        decide(ws, queued.id, decision={"sentiment": "positive"})
    assert "output schema" in missing.value.message and "features.sentiment.versions.v1" in missing.value.message
    with pytest.raises(InvalidDecisionError, match="did you mean 'warm'") as enum:
        decide(ws, queued.id, decision={"sentiment": "positive", "reply": REPLY, "tone": "wram"})
    assert enum.value.where == "decision.tone"
    with pytest.raises(InvalidDecisionError, match="is not of type 'string'") as typed:
        decide(ws, queued.id, decision={"sentiment": "positive", "reply": 5})
    assert typed.value.where == "decision.reply"
    assert queue.get(ws.store, queued.id).status == "pending"


def test_a_label_and_a_decision_that_disagree_are_refused(ws: Workspace) -> None:
    queued = sentiment_item(1)
    ws.store.add_review_item(queued)
    with pytest.raises(InvalidDecisionError, match="disagree"):
        decide(ws, queued.id, label="positive", decision={"sentiment": "negative", "reply": REPLY})


def test_valid_decisions_are_stored_in_the_known_spelling(ws: Workspace) -> None:
    first, second, third = sentiment_item(1), sentiment_item(2), sentiment_item(3, feature="free")
    ws.store.add_review_items([first, second, third])
    done = decide(ws, first.id, decision={"sentiment": "Positive", "reply": "감사합니다!"}, label=" POSITIVE ")
    assert (done.label, done.decision) == ("positive", {"sentiment": "positive", "reply": "감사합니다!"})
    assert decide(ws, second.id, label="Neutral").label == "neutral"
    assert decide(ws, third.id, label="anything at all").label == "anything at all"  # no labels known


def test_the_schema_of_the_version_that_answered_is_used(ws: Workspace, tmp_path: Path) -> None:
    version = ws.version("sentiment", "v1")
    queued = sentiment_item(1, version_id=version.id)
    ws.store.add_review_item(queued)
    rules = rules_of(ws)(queued)
    assert rules.schema is not None and rules.schema["required"] == ["sentiment", "reply"]
    # A dataset that cannot be read takes its labels away, never the reviewer's ability to decide.
    (tmp_path / "data" / "reviews.yaml").write_text("- id: [broken\n", encoding="utf-8")
    assert rules_of(ws)(queued).labels == ()
    assert decide(ws, queued.id, decision={"sentiment": "mixed", "reply": REPLY}).label is None


def andon_cli(*args: str, cwd: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en", "ANDON_DATABASE_URL": database_url, "USER": "reviewer"}
    env.pop("ANDON_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_decide_refuses_a_misspelt_label(ws: Workspace, database_url: str) -> None:
    queued = sentiment_item(1)
    ws.store.add_review_item(queued)
    typo = andon_cli("review", "decide", queued.id, "--decision", '{"sentiment":"positve"}',
                     cwd=ws.root, database_url=database_url)  # fmt: skip
    assert typo.returncode == 2 and "did you mean 'positive'" in typo.stderr and "Traceback" not in typo.stderr
    assert queue.get(ws.store, queued.id).status == "pending"
    korean = subprocess.run(
        [sys.executable, "-m", "andon", "review", "decide", queued.id, "--label", "positve"],
        cwd=ws.root, capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANDON_LANG": "ko", "ANDON_DATABASE_URL": database_url, "USER": "reviewer"},
    )  # fmt: skip
    assert korean.returncode == 2 and "'positive'" in korean.stderr and "라벨" in korean.stderr


def test_http_and_sdk_decisions_are_checked_the_same_way(tmp_path: Path, database_url: str) -> None:
    folder = write_sentiment_workspace(tmp_path / "ws")
    with Workspace.open(folder, database_url=database_url) as ws:
        first, second = sentiment_item(1), sentiment_item(2)
        ws.store.add_review_items([first, second])
        _, secret = create_key(ws.store, "reviewer", ["review"], None)
    with GatewayServer(folder, database_url=database_url) as server:
        reply = httpx.post(
            f"{server.base_url}/v1/reviews/{first.id}/decision",
            json={"decision": {"sentiment": "positve", "reply": REPLY}},
            headers={"authorization": f"Bearer {secret}"},
            timeout=30,
        )
        assert reply.status_code == 400, reply.text
        error = reply.json()["error"]
        assert error["code"] == "invalid_request" and "decision.sentiment" in error["message"]
        assert "did you mean 'positive'" in error["message"] and "negative" in error["hint"]
        with andon.Client(server.base_url, api_key=secret) as client:
            with pytest.raises(InvalidRequestError, match="did you mean 'neutral'"):
                client.decide(second.id, label="nuetral")
            decided = client.decide(second.id, decision={"sentiment": "neutral", "reply": REPLY})
            assert decided.decision == {"sentiment": "neutral", "reply": REPLY}
    with Workspace.open(folder, database_url=database_url) as ws:
        assert queue.get(ws.store, first.id).status == "pending"
        assert json.dumps(queue.get(ws.store, second.id).decision, ensure_ascii=False).count("neutral") == 1
