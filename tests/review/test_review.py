"""The review queue: items, decisions (once, even with concurrent deciders), export to a dataset, the terminal loop."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.support.gateway_server import GatewayServer, write_workspace
from tests.support.review_fixtures import sentiment_item, write_sentiment_workspace

from andon import deploy
from andon.errors import ConfigError, NotFoundError
from andon.evals.dataset import load_dataset
from andon.gateway.auth import create_key
from andon.review import queue
from andon.review.export import CasesNotAllowedError, export_decisions, review_to_case
from andon.review.queue import AlreadyDecidedError, ReviewItem
from andon.store import Store
from andon.store.records import TraceRecord, new_id
from andon.workspace import Workspace

YAML = """\
name: review-test
features:
  listing:
    graders:
      - type: label
        path: verdict.decision
        options: {labels: [approve, reject]}
    versions:
      v1: {python: review_rules:check}
"""
RULES = "def check(variables):\n    return {'verdict': {'decision': 'approve'}}\n"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def item(n: int, *, feature: str = "listing", reason: str = "low_confidence", **fields: object) -> ReviewItem:
    """A queued item created ``n`` minutes after T0 (so the order is known)."""
    values: dict[str, object] = {
        "input": {"text": f"listing {n}: fresh kimbap"},
        "suggestion_json": {"verdict": {"decision": "approve"}, "confidence": 0.41},
        "suggestion_text": '{"verdict": {"decision": "approve"}, "confidence": 0.41}',
        "created_at": T0 + timedelta(minutes=n),
        **fields,
    }
    return ReviewItem.new(feature, reason, **values)


def trace_for(review: ReviewItem, input_mode: str) -> TraceRecord:
    """The trace the gateway writes beside a queued item."""
    return TraceRecord(
        id=review.trace_id or new_id("trc"),
        feature=review.feature,
        route="human",
        status="queued",
        input_mode=input_mode,
        input=None if input_mode == "hash" else review.input,
        input_hash="0" * 64,
        created_at=review.created_at,
    )


@pytest.fixture
def ws(tmp_path: Path, database_url: str) -> Iterator[Workspace]:
    (tmp_path / "andon.yaml").write_text(YAML, encoding="utf-8")
    (tmp_path / "review_rules.py").write_text(RULES, encoding="utf-8")
    with Workspace.open(tmp_path, database_url=database_url) as opened:
        yield opened


def test_items_are_queued_listed_and_found_by_prefix(store: Store) -> None:
    first, second, third = item(1), item(2, feature="other"), item(3)
    store.add_review_items([third, first])
    store.add_review_item(second)
    assert [i.id for i in queue.list_items(store)] == [first.id, second.id, third.id]  # oldest first
    assert [i.id for i in queue.list_items(store, "listing")] == [first.id, third.id]
    got = queue.get(store, first.id)
    assert got.input == {"text": "listing 1: fresh kimbap"} and got.suggestion_json["confidence"] == 0.41
    assert got.created_at == first.created_at and got.status == "pending"
    assert queue.get(store, first.id[:-3]).id == first.id  # a unique prefix
    with pytest.raises(NotFoundError, match="no review item"):
        queue.get(store, "rev_nope")
    with pytest.raises(NotFoundError, match="ambiguous"):
        queue.get(store, first.id[:8])  # ids made within the same minutes share their time prefix
    assert store.review_counts() == {"pending": 3}
    with pytest.raises(ConfigError, match="unknown review status"):
        queue.list_items(store, status="done")


@dataclass(slots=True)
class WiderItem(ReviewItem):
    """A review item with a field the table has no column for (as if the dataclass grew one)."""

    escalation: int = 0  # a made-up field (priority became a real column with the guard)


def test_both_ways_into_the_store_map_an_item_to_a_row_the_same_way(store: Store) -> None:
    # Queued directly, or beside the trace the gateway writes: one mapping, so the same refusal and defaults.
    wide = WiderItem(id=new_id("rev"), feature="listing", reason="shadow", trace_id=new_id("trc"), escalation=3)
    with pytest.raises(ValueError, match="escalation"):
        store.add_review_items([wide])
    with pytest.raises(ValueError, match="escalation"):
        store.save_traces([trace_for(wide, "full")], review_items=[wide])
    assert store.review_counts() == {}
    direct, beside = item(1), item(2, trace_id=new_id("trc"))
    store.add_review_item(direct)
    store.save_traces([trace_for(beside, "full")], review_items=[beside])
    for queued in (direct, beside):
        got = queue.get(store, queued.id)
        assert (got.status, got.created_at, got.input) == ("pending", queued.created_at, queued.input)


def test_a_decision_is_recorded_once(store: Store) -> None:
    queued = item(1)
    store.add_review_item(queued)
    decided = queue.decide(
        store, queued.id, decision={"decision": "reject"}, label=" reject ", comment="phone number", actor="jieun"
    )
    assert (decided.status, decided.label, decided.decision) == ("decided", "reject", {"decision": "reject"})
    assert decided.decided_by == "jieun" and decided.comment == "phone number" and decided.decided_at is not None
    assert decided.suggestion_json == queued.suggestion_json  # the AI's suggestion is kept beside the decision
    with pytest.raises(AlreadyDecidedError, match="already decided by jieun") as again:
        queue.decide(store, queued.id, decision=None, label="approve", comment=None, actor="minho")
    assert "final" in (again.value.hint or "")
    assert queue.get(store, queued.id).label == "reject"  # the first decision stands
    assert [i.id for i in queue.list_items(store, status="decided")] == [queued.id]
    assert queue.list_items(store) == []


def test_bad_decisions_are_refused_with_a_reason(store: Store) -> None:
    queued = item(1)
    store.add_review_item(queued)
    with pytest.raises(ConfigError, match="needs a label, a decision object, or both"):
        queue.decide(store, queued.id, decision=None, label="  ", comment=None, actor="a")
    with pytest.raises(ConfigError, match="JSON object, not list"):
        queue.decide(store, queued.id, decision=["x"], label=None, comment=None, actor="a")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at most 200"):
        queue.decide(store, queued.id, decision=None, label="x" * 201, comment=None, actor="a")
    with pytest.raises(ConfigError, match="actor"):
        queue.decide(store, queued.id, decision=None, label="ok", comment=None, actor=" ")
    with pytest.raises(NotFoundError):
        queue.decide(store, "rev_missing", decision=None, label="ok", comment=None, actor="a")
    assert queue.get(store, queued.id).status == "pending"


def test_concurrent_deciders_exactly_one_wins(database_url: str) -> None:
    deciders = 8
    stores = [Store.open(database_url) for _ in range(deciders)]  # own engines: own connections
    try:
        queued = item(1)
        stores[0].add_review_item(queued)
        barrier = threading.Barrier(deciders)
        won: list[str] = []
        lost: list[str] = []
        errors: list[BaseException] = []

        def decide(n: int) -> None:
            barrier.wait()
            try:
                queue.decide(stores[n], queued.id, decision=None, label=f"label-{n}", comment=None, actor=f"r{n}")
                won.append(f"r{n}")
            except AlreadyDecidedError:
                lost.append(f"r{n}")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=decide, args=(n,)) for n in range(deciders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors
        assert len(won) == 1 and len(lost) == deciders - 1
        final = queue.get(stores[0], queued.id)
        assert final.decided_by == won[0] and final.label == f"label-{won[0][1:]}"
    finally:
        for store in stores:
            store.close()


def test_export_is_refused_until_an_admin_allows_it(ws: Workspace) -> None:
    queued = item(1)
    ws.store.add_review_item(queued)
    queue.decide(ws.store, queued.id, decision=None, label="approve", comment=None, actor="a")
    with pytest.raises(CasesNotAllowedError, match="data-use grant is off") as refused:
        export_decisions(ws.store, ws.root, "listing", ws.root / "from_review.jsonl")
    assert "andon data-use allow-cases listing --reason" in (refused.value.hint or "")
    assert not (ws.root / "from_review.jsonl").exists()
    assert queue.get(ws.store, queued.id).exported_at is None


def test_export_appends_cases_once_and_refuses_hashed_inputs(ws: Workspace) -> None:
    deploy.set_cases_allowed(ws, "listing", True, reason="consented", actor="admin")
    full = item(1, trace_id=new_id("trc"), reason="shadow")
    hashed = item(2, trace_id=new_id("trc"), input=None)
    pending = item(3)
    no_trace = item(4, input={"text": "배송이 늦어요 (010-****-****)"})
    ws.store.save_traces([trace_for(full, "redacted"), trace_for(hashed, "hash")], review_items=[full, hashed])
    ws.store.add_review_items([pending, no_trace])
    queue.decide(ws.store, hashed.id, decision=None, label="approve", comment=None, actor="a")
    queue.decide(ws.store, full.id, decision={"verdict": {"decision": "reject"}}, label="reject",
                 comment="menu photo shows alcohol", actor="jieun")  # fmt: skip
    dataset = ws.root / "data" / "from_review.jsonl"
    dataset.parent.mkdir()
    result = export_decisions(ws.store, ws.root, "listing", dataset)
    assert result.written == [full.id]
    assert [i for i, _ in result.refused] == [hashed.id] and "hash only" in result.refused[0][1]
    loaded = load_dataset(dataset, ws.root)
    (case,) = loaded.cases
    assert case.id == full.id and case.vars == full.input and case.label == "reject"
    assert case.expected == {"verdict": {"decision": "reject"}}
    assert case.tags == ("from-review", "shadow") and case.reason == "menu photo shows alcohol"
    assert queue.get(ws.store, full.id).exported_at is not None
    assert queue.get(ws.store, hashed.id).exported_at is None  # refused: stays unexported

    before = dataset.read_bytes()
    again = export_decisions(ws.store, ws.root, "listing", dataset)
    assert again.written == [] and dataset.read_bytes() == before  # no duplicates

    queue.decide(ws.store, no_trace.id, decision=None, label="approve", comment=None, actor="a")
    third = export_decisions(ws.store, ws.root, "listing", dataset)
    assert third.written == [no_trace.id]
    cases = load_dataset(dataset, ws.root).cases
    assert [c.id for c in cases] == [full.id, no_trace.id] and cases[1].vars["text"].startswith("배송이")
    assert cases[1].expected is None and cases[1].reason is None and cases[1].label == "approve"


def test_export_refuses_tool_approval_decisions(ws: Workspace) -> None:
    deploy.set_cases_allowed(ws, "listing", True, reason="consented", actor="admin")
    tool = item(1, trace_id=new_id("trc"), reason="tool_approval")
    ws.store.save_traces([trace_for(tool, "redacted")], review_items=[tool])
    # as the approval path records it (review.tool_approval): queue.decide refuses tool items
    ws.store.decide_review_item(tool.id, decision={"approval": "approved"}, label="approve", comment=None, actor="a")
    dataset = ws.root / "data" / "from_review.jsonl"
    dataset.parent.mkdir()
    result = export_decisions(ws.store, ws.root, "listing", dataset)
    assert result.written == [] and [i for i, _ in result.refused] == [tool.id]
    assert "tool call" in result.refused[0][1] and not dataset.exists()


def test_export_never_duplicates_ids_already_in_the_file(ws: Workspace) -> None:
    deploy.set_cases_allowed(ws, "listing", True, reason="consented", actor="admin")
    queued = item(1)
    ws.store.add_review_item(queued)
    decided = queue.decide(ws.store, queued.id, decision=None, label="approve", comment=None, actor="a")
    dataset = ws.root / "cases.jsonl"
    # As if an earlier export wrote the line but died before marking the item (no trailing newline either).
    dataset.write_text(json.dumps(review_to_case(decided)), encoding="utf-8")
    result = export_decisions(ws.store, ws.root, "listing", dataset)
    assert result.written == [] and result.already_there == [queued.id]
    assert queue.get(ws.store, queued.id).exported_at is not None
    assert [c.id for c in load_dataset(dataset, ws.root).cases] == [queued.id]


def test_export_refuses_bad_targets_and_file_like_values(
    ws: Workspace, tmp_path_factory: pytest.TempPathFactory
) -> None:
    deploy.set_cases_allowed(ws, "listing", True, reason="consented", actor="admin")
    # A .csv target was refused here before; every format andon reads is one to export to (issue 16 item 12).
    with pytest.raises(ConfigError, match=r"is a \.txt file"):
        export_decisions(ws.store, ws.root, "listing", ws.root / "cases.txt")
    with pytest.raises(ConfigError, match="outside the workspace"):
        export_decisions(ws.store, ws.root, "listing", tmp_path_factory.mktemp("elsewhere") / "cases.jsonl")
    queued = item(1, input={"note": "see readme.md"})
    ws.store.add_review_item(queued)
    queue.decide(ws.store, queued.id, decision=None, label="approve", comment=None, actor="a")
    result = export_decisions(ws.store, ws.root, "listing", ws.root / "cases.jsonl")
    assert result.written == [] and "would be read as a file" in result.refused[0][1]


def test_suggested_label_and_decision_follow_the_label_grader(ws: Workspace) -> None:
    config = ws.config.features["listing"]
    assert queue.label_choices(config) == ["approve", "reject"]
    assert queue.suggested_label(item(1), config) == "approve"
    text_only = item(2, suggestion_json=None, suggestion_text='{"verdict": {"decision": "reject"}}')
    assert queue.suggested_label(text_only, config) == "reject"
    assert queue.suggested_label(item(3, suggestion_json={"other": 1}, suggestion_text=None), config) is None
    assert queue.suggested_label(item(4, suggestion_json=None, suggestion_text="approve"), None) == "approve"
    assert queue.decision_for_label("reject", config) == {"verdict": {"decision": "reject"}}
    assert queue.decision_for_label("reject", None) is None


# The terminal -----------------------------------------------------------------------------------------------


def andon(*args: str, cwd: Path, database_url: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en", "ANDON_DATABASE_URL": database_url, "USER": "reviewer"}
    env.pop("ANDON_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-m", "andon", *args],
        cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_cli_list_show_decide_export(ws: Workspace, database_url: str) -> None:
    first, second = item(1), item(2)
    ws.store.add_review_items([first, second])
    listed = andon("review", "list", "listing", "--json", cwd=ws.root, database_url=database_url)
    assert [r["id"] for r in json.loads(listed.stdout)] == [first.id, second.id], listed.stderr
    shown = andon("review", "show", first.id, cwd=ws.root, database_url=database_url)
    assert "fresh kimbap" in shown.stdout and "suggested label: approve" in shown.stdout, shown.stderr
    decided = andon("review", "decide", first.id, "--label", "reject", "--comment", "blurry",
                    cwd=ws.root, database_url=database_url)  # fmt: skip
    assert decided.returncode == 0 and "label reject" in decided.stdout, decided.stderr
    twice = andon("review", "decide", first.id, "--label", "approve", cwd=ws.root, database_url=database_url)
    assert twice.returncode == 2 and "already decided by reviewer" in twice.stderr and "Traceback" not in twice.stderr
    bad_json = andon("review", "decide", second.id, "--decision", "{nope", cwd=ws.root, database_url=database_url)
    assert bad_json.returncode == 2 and "not valid JSON" in bad_json.stderr
    refused = andon("review", "export", "listing", "--to-dataset", "new.jsonl", cwd=ws.root, database_url=database_url)
    assert refused.returncode == 2 and "andon data-use allow-cases listing" in refused.stderr
    allowed = andon("data-use", "allow-cases", "listing", "--reason", "ok", cwd=ws.root, database_url=database_url)
    assert allowed.returncode == 0, allowed.stderr
    exported = andon("review", "export", "listing", "--to-dataset", "new.jsonl", "--json",
                     cwd=ws.root, database_url=database_url)  # fmt: skip
    assert json.loads(exported.stdout)["written"] == [first.id], exported.stderr
    assert [c.label for c in load_dataset(ws.root / "new.jsonl", ws.root).cases] == ["reject"]


def test_cli_review_next_reads_decisions_from_stdin(ws: Workspace, database_url: str) -> None:
    items = [item(n) for n in range(1, 6)]
    ws.store.add_review_items(items)
    answers = "\n".join(
        [
            "",  # Enter: accept the AI's suggestion
            "",  # no comment
            "maybe",  # not one of the labels: asked again
            "REJECT",  # a label, in any case
            "phone number in photo",
            "s",  # skip
            '{"verdict": {"decision": "reject"}, "note": "x"}',  # a JSON decision
            "",
            "q",  # quit before the fifth
        ]
    )
    result = andon("review", "next", "listing", cwd=ws.root, database_url=database_url, stdin=answers + "\n")
    assert result.returncode == 0, result.stderr
    assert "not one of the feature's labels" in result.stdout
    assert "decided 3, skipped 1; 2 pending" in result.stdout
    got = [queue.get(ws.store, i.id) for i in items]
    assert (got[0].label, got[0].decision, got[0].decided_by) == (
        "approve", {"verdict": {"decision": "approve"}, "confidence": 0.41}, "reviewer"
    )  # fmt: skip
    # A typed label replaces the label field only: the rest of the AI's answer stays (issue 16 item 10).
    assert (got[1].label, got[1].decision, got[1].comment) == (
        "reject", {"verdict": {"decision": "reject"}, "confidence": 0.41}, "phone number in photo"
    )  # fmt: skip
    assert got[2].status == "pending"
    assert (got[3].label, got[3].decision) == ("reject", {"verdict": {"decision": "reject"}, "note": "x"})
    assert got[4].status == "pending"


def test_cli_review_next_keeps_the_reply_and_edits_fields(tmp_path: Path, database_url: str) -> None:
    folder = write_sentiment_workspace(tmp_path / "ws")
    items = [sentiment_item(n) for n in range(1, 5)]
    with Store.open(database_url) as store:
        store.add_review_items(items)
    answers = "\n".join(
        [
            "n",  # not a label: refused, the labels are listed, nothing stored
            "positve",  # a typo: did you mean 'positive'?
            "neutral",  # the label field changes; the reply stays
            "",  # no comment
            "e 2",  # edit field 2 (reply)
            "빨리 다시 보내 드릴게요!",
            "e sentiment",  # a field by its path
            "positive",
            "",  # Enter: accept the edited answer
            "edited",
            "e",  # edit, asking which field
            "9",  # no such field: asked again
            "reply",
            '"두 줄\\n답장"',  # a JSON string: an escaped newline
            "",  # accept
            "",
            "e 1",
            "mixed",  # not a known label: refused when accepted, the draft stays for fixing
            "",
            "e 1",
            "negative",
            "",
            "",
        ]
    )
    result = andon("review", "next", "sentiment", cwd=folder, database_url=database_url, stdin=answers + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "'n' is not one of the feature's labels" in out and "positive, negative, neutral" in out
    assert "did you mean 'positive'" in out and "no field 9" in out
    assert "reply" in out and "죄송합니다. 다시 보내 드릴게요." in out  # the answer shown field by field
    assert "decided 4, skipped 0; 0 pending" in out, out
    with Store.open(database_url) as store:
        got = [queue.get(store, i.id) for i in items]
    assert (got[0].label, got[0].decision) == (
        "neutral",
        {"sentiment": "neutral", "reply": "죄송합니다. 다시 보내 드릴게요."},
    )
    assert (got[1].label, got[1].decision, got[1].comment) == (
        "positive", {"sentiment": "positive", "reply": "빨리 다시 보내 드릴게요!"}, "edited"
    )  # fmt: skip
    assert got[2].decision == {"sentiment": "negative", "reply": "두 줄\n답장"} and got[2].label == "negative"
    assert got[3].decision == {"sentiment": "negative", "reply": "죄송합니다. 다시 보내 드릴게요."}


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_cli_review_next_in_a_real_terminal(tmp_path: Path) -> None:
    (tmp_path / "andon.yaml").write_text(YAML, encoding="utf-8")
    (tmp_path / "review_rules.py").write_text(RULES, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    with Store.open(url) as store:
        first, second, third = item(1), item(2, suggestion_json=TTY_ANSWER), item(3)
        store.add_review_items([first, second, third])
    session = f"andon-review-{os.getpid()}"
    command = (
        f"cd {tmp_path} && ANDON_LANG=en USER=tty-user ANDON_DATABASE_URL={url} "
        f"{sys.executable} -m andon review next listing; echo EXITED-$?; sleep 30"
    )
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", command], check=True)
    try:
        wait_for(session, "Enter accepts the AI (approve)")
        keys(session, "Enter")  # accept the AI
        wait_for(session, "comment (optional)")
        keys(session, "looks fine", "Enter")
        wait_for(session, "decided: label approve")
        # The second item: its answer is shown field by field; edit the reply, then set the label.
        wait_for(session, "3  reply")
        keys(session, "e", "Enter")
        wait_for(session, "field to edit")
        keys(session, "3", "Enter")
        wait_for(session, "new value of reply")
        keys(session, "please send a sharper photo", "Enter")
        wait_for(session, "Enter accepts your edited answer")
        keys(session, "reject", "Enter")
        wait_for(session, "comment (optional)")
        keys(session, "Enter")
        wait_for(session, "decided: label reject")
        keys(session, "q", "Enter")
        screen = wait_for(session, "EXITED-0")
        assert "decided 2, skipped 0; 1 pending" in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
    with Store.open(url) as store:
        decided = queue.get(store, first.id)
        assert (decided.label, decided.comment, decided.decided_by) == ("approve", "looks fine", "tty-user")
        edited = queue.get(store, second.id)
        assert (edited.label, edited.decision) == (
            "reject", {**TTY_ANSWER, "verdict": {"decision": "reject"}, "reply": "please send a sharper photo"}
        )  # fmt: skip
        assert queue.get(store, third.id).status == "pending"


TTY_ANSWER = {"verdict": {"decision": "approve"}, "confidence": 0.41, "reply": "thanks, looks tasty"}


def keys(session: str, *names: str) -> None:
    subprocess.run(["tmux", "send-keys", "-t", session, *names], check=True)


def wait_for(session: str, text: str, limit_s: float = 60.0) -> str:
    """The pane's text once it shows ``text`` (fails with the screen if it never does)."""
    deadline = time.monotonic() + limit_s
    screen = ""
    while time.monotonic() < deadline:
        screen = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session, "-S", "-200"], capture_output=True, text=True, check=False
        ).stdout
        if text in screen:
            return screen
        time.sleep(0.1)
    pytest.fail(f"{text!r} never appeared on the terminal:\n{textwrap.indent(screen, '  ')}")


# Through the real gateway -----------------------------------------------------------------------------------


def test_a_stopped_feature_queues_calls_and_decisions_become_cases(tmp_path: Path, database_url: str) -> None:
    folder = write_workspace(tmp_path / "ws")
    with Workspace.open(folder, database_url=database_url) as ws:
        deploy.stop_feature(ws, "echo", reason="wrong answers in production", actor="oncall")
        _, secret = create_key(ws.store, "app", ["invoke", "review"], None)
    auth = {"authorization": f"Bearer {secret}"}
    with GatewayServer(folder, database_url=database_url) as server:
        queued = []
        for text in ("김밥 한 줄", "a second call"):
            reply = httpx.post(f"{server.base_url}/v1/features/echo/invoke", json={"variables": {"text": text}},
                               headers=auth, timeout=30)  # fmt: skip
            assert reply.status_code == 202, reply.text  # accepted: a human will answer
            body = reply.json()
            assert (body["route"], body["status"]) == ("human", "queued") and body["review_id"]
            queued.append(body["review_id"])
        with Workspace.open(folder, database_url=database_url) as ws:
            items = queue.list_items(ws.store, "echo")
            assert [i.id for i in items] == queued and items[0].reason == "stopped"
            assert items[0].input == {"text": "김밥 한 줄"}
            queue.decide(ws.store, queued[0], decision={"echo": "김밥"}, label="ok", comment="fine", actor="jieun")
            deploy.resume_feature(ws, "echo", actor="oncall")
        again = httpx.post(f"{server.base_url}/v1/reviews/{queued[0]}/decision", json={"label": "no"},
                           headers=auth, timeout=30)  # fmt: skip
        assert again.status_code == 409 and "already decided by jieun" in again.text
        after = httpx.post(f"{server.base_url}/v1/features/echo/invoke", json={"variables": {"text": "hi"}},
                           headers=auth, timeout=30)  # fmt: skip
        assert after.json()["route"] == "ai" and after.json()["output_json"]["echo"] == "HI"
    with Workspace.open(folder, database_url=database_url) as ws:
        deploy.set_cases_allowed(ws, "echo", True, reason="test data", actor="admin")
        result = export_decisions(ws.store, ws.root, "echo", folder / "from_review.jsonl")
        assert result.written == [queued[0]]
        (case,) = load_dataset(folder / "from_review.jsonl", ws.root).cases
        assert (case.vars, case.label, case.expected, case.tags) == (
            {"text": "김밥 한 줄"}, "ok", {"echo": "김밥"}, ("from-review", "stopped")
        )  # fmt: skip
