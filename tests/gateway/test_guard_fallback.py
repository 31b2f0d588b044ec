"""The guard on the fallback paths, end to end through the real gateway on loopback (issue 15).

A stopped feature's fallback (the review queue, or a pinned version without the guard) must still hand a
person at risk to a person at once, or give the safe answer; a fallback version's own guard acts when the
live version's provider fails. The model never sees the crisis text; hard negatives take the fallback as before.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.stub import StubServer
from tests.support.gateway_server import GatewayServer, workspace_config
from tests.support.receivers import HttpReceiver

from andon import deploy
from andon.store import Store
from andon.workspace import Workspace

pytestmark = pytest.mark.timeout(300)

CRISIS = "요즘 너무 힘들어서 그냥 죽고 싶어요"
FINE = "배고파 죽겠다 ㅋㅋ 메뉴 추천해 줘"


def _guarded(action: str) -> dict[str, Any]:
    notify = ["oncall"] if action == "route" else None
    return {"name": "safety", "guard": {"checks": {"crisis": action}, "notify": notify}}


def _workspace(root: Path, stub_url: str, hook_url: str) -> Path:
    model = {"name": "main", "provider": "stub", "system": "You help.", "prompt": "{{ input }}"}
    down = {**model, "provider": "down"}

    def feature(action: str, fallback: str, *, live: dict[str, Any] = model, pinned: Any = None) -> dict[str, Any]:
        versions: dict[str, Any] = {}
        if pinned is not None:
            versions["old"] = pinned
        versions["v1"] = {"steps": [_guarded(action), live]}
        return {"chat_input": "input", "versions": versions,
                "serve": {"live": "v1", "data_use": {"inputs": "full"}, "routing": {"fallback": fallback}}}  # fmt: skip

    features = {
        "queued": feature("route", "queue"),
        "pinned": feature("route", "old", pinned={"steps": [{**model, "system": "Old prompt."}]}),
        "blocked": feature("block", "old", pinned={"steps": [{**model, "system": "Old prompt."}]}),
        # The live version's provider is down; the pinned fallback has its own guard.
        "failing": {"chat_input": "input",
                    "versions": {"old": {"steps": [_guarded("route"), model]}, "v1": {"steps": [down]}},
                    "serve": {"live": "v1", "data_use": {"inputs": "full"}, "routing": {"fallback": "old"}}},
    }  # fmt: skip
    config = workspace_config(stub_url=stub_url, gateway={"auth": False}, features=features)
    # Nothing listens on port 9 of the loopback: every call to it fails at once.
    config["providers"]["down"] = {**config["providers"]["stub"], "base_url": "http://127.0.0.1:9/v1"}
    config["notifiers"] = {"oncall": {"type": "webhook", "url": hook_url, "secret": "fallback-guard-secret-0123"}}
    root.mkdir(parents=True, exist_ok=True)
    (root / "andon.yaml").write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    return root


def _wait_for(hook: HttpReceiver, n: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(hook.requests) < n and time.monotonic() < deadline:
        time.sleep(0.05)


async def test_the_guard_acts_on_every_fallback_path(tmp_path: Path) -> None:
    db = tmp_path / "andon.db"
    url = f"sqlite:///{db}"
    with HttpReceiver() as hook:
        async with StubServer(echo=True) as stub:
            root = _workspace(tmp_path / "ws", stub.base_url, hook.url + "/guard")
            with GatewayServer(root, database_url=url) as server, Workspace.open(root, database_url=url) as ws:
                for name in ("queued", "pinned", "blocked"):
                    deploy.stop_feature(ws, name, reason="bad answers", actor="jimin")
                async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:

                    async def invoke(feature: str, text: str) -> httpx.Response:
                        return await http.post(f"/v1/features/{feature}/invoke", json={"variables": {"input": text}})

                    queued_fine, queued_crisis = await invoke("queued", FINE), await invoke("queued", CRISIS)
                    pinned_fine, pinned_crisis = await invoke("pinned", FINE), await invoke("pinned", CRISIS)
                    blocked = await invoke("blocked", CRISIS)
                    failing_fine, failing_crisis = await invoke("failing", FINE), await invoke("failing", CRISIS)
                    _wait_for(hook, 3)
            sent = "\n".join(json.dumps(r.body, ensure_ascii=False) for r in stub.received)

    assert "죽고 싶어요" not in sent  # neither the pinned versions' model nor the fallback's ever saw it
    assert sent.count("배고파 죽겠다") == 2  # the hard negative reached the pinned version and the fallback

    # The review queue: a crisis is a guard item at the head, an ordinary call a "stopped" one.
    assert queued_fine.status_code == queued_crisis.status_code == 202
    assert queued_fine.json()["guard"] is None and queued_crisis.json()["guard"]["action"] == "route"
    # A pinned version without the guard: the crisis goes to a person instead of the old prompt.
    assert pinned_fine.status_code == 200 and pinned_fine.json()["route"] == "fallback"
    assert pinned_fine.json()["version_name"] == "old"
    assert pinned_crisis.status_code == 202, pinned_crisis.text
    assert pinned_crisis.json()["route"] == "human" and pinned_crisis.json()["output_text"] is None
    # A block on a stopped feature: the crisis lines, marked as no AI answer.
    body = blocked.json()
    assert blocked.status_code == 200 and body["guard"]["action"] == "block", body
    assert "109" in body["output_text"] and "988" in body["output_text"] and body["ai_generated"] is False
    # The live provider is down: the fallback version's own guard routes the crisis.
    assert failing_fine.status_code == 200 and failing_fine.json()["route"] == "fallback"
    assert failing_crisis.status_code == 202 and failing_crisis.json()["guard"]["action"] == "route"

    routed = [queued_crisis, pinned_crisis, failing_crisis]
    delivered = "\n".join(r.body.decode() for r in hook.requests)
    assert len(hook.requests) == 3 and all(r.json()["review_id"] in delivered for r in routed)
    assert "죽고 싶어요" not in delivered
    with Store.open(url) as store:
        for response in routed:
            item = store.get_review_item(response.json()["review_id"])
            assert (item["reason"], item["priority"]) == ("guard", 100)
            trace = store.get_trace(response.json()["trace_id"])
            assert trace["tags"]["guard"] == {"action": "route", "checks": ["crisis"]}
        ordinary = store.get_review_item(queued_fine.json()["review_id"])
        assert (ordinary["reason"], ordinary["priority"]) == ("stopped", 0)
        assert store.list_review_items("queued", status="pending")[0]["id"] == queued_crisis.json()["review_id"]
        note = store.get_trace(pinned_crisis.json()["trace_id"])["note"]
        assert "feature stopped" in note and "crisis.ko.want_to_die" in note


def _output_workspace(root: Path, stub_url: str, hook_url: str) -> Path:
    """Live versions with an output guard only, whose fallbacks (pinned versions without it) echo the input."""
    model = {"name": "main", "provider": "stub", "system": "You help.", "prompt": "{{ input }}"}
    pinned = {"steps": [{**model, "system": "Old prompt."}]}

    def after(action: str) -> dict[str, Any]:
        notify = ["oncall"] if action == "route" else None
        return {"name": "answer-check", "guard": {"on": "output", "checks": {"crisis": action}, "notify": notify}}

    def feature(action: str, live_model: dict[str, Any]) -> dict[str, Any]:
        return {"chat_input": "input", "versions": {"old": pinned, "v1": {"steps": [live_model, after(action)]}},
                "serve": {"live": "v1", "data_use": {"inputs": "full"}, "routing": {"fallback": "old"}}}  # fmt: skip

    features = {
        "routed": feature("route", model),  # stopped: the pinned version answers
        "blocked": feature("block", model),
        "failing": feature("route", {**model, "provider": "down"}),  # the live provider fails: the pinned answers
    }
    config = workspace_config(stub_url=stub_url, gateway={"auth": False}, features=features)
    config["providers"]["down"] = {**config["providers"]["stub"], "base_url": "http://127.0.0.1:9/v1"}
    config["notifiers"] = {"oncall": {"type": "webhook", "url": hook_url, "secret": "fallback-guard-secret-0123"}}
    root.mkdir(parents=True, exist_ok=True)
    (root / "andon.yaml").write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    return root


async def test_the_live_versions_output_guard_judges_the_answer_a_pinned_version_sends(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    with HttpReceiver() as hook:
        async with StubServer(echo=True) as stub:
            root = _output_workspace(tmp_path / "ws", stub.base_url, hook.url + "/guard")
            with GatewayServer(root, database_url=url) as server, Workspace.open(root, database_url=url) as ws:
                for name in ("routed", "blocked"):
                    deploy.stop_feature(ws, name, reason="bad answers", actor="jimin")
                async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:

                    async def invoke(feature: str, text: str) -> httpx.Response:
                        return await http.post(f"/v1/features/{feature}/invoke", json={"variables": {"input": text}})

                    routed_fine, routed = await invoke("routed", FINE), await invoke("routed", CRISIS)
                    blocked_fine, blocked = await invoke("blocked", FINE), await invoke("blocked", CRISIS)
                    failing_fine, failing = await invoke("failing", FINE), await invoke("failing", CRISIS)
                    _wait_for(hook, 2)
            prompts = [json.dumps(r.body, ensure_ascii=False) for r in stub.received]

    # Only the pinned versions answered (their old prompt), and each answer echoed the input back.
    assert len(prompts) == 6 and all("Old prompt." in p for p in prompts)
    # Hard negatives: the pinned answer is sent as it came, marked AI-made, with no guard decision.
    for fine in (routed_fine, blocked_fine, failing_fine):
        body = fine.json()
        assert fine.status_code == 200 and body["route"] == "fallback" and body["version_name"] == "old", body
        assert body["output_text"] == FINE and body["guard"] is None and body["ai_generated"] is True
    # A route: the answer is not sent; a person decides, told at once (stopped and failing paths alike).
    for response in (routed, failing):
        body = response.json()
        assert response.status_code == 202 and body["route"] == "human" and body["output_text"] is None, body
        assert body["guard"]["on"] == "output" and body["guard"]["action"] == "route"
    # A block: the crisis lines instead of the pinned answer, not marked AI-made.
    body = blocked.json()
    assert blocked.status_code == 200 and body["guard"]["action"] == "block", body
    assert "109" in body["output_text"] and "988" in body["output_text"] and CRISIS not in body["output_text"]
    assert body["ai_generated"] is False

    delivered = "\n".join(r.body.decode() for r in hook.requests)
    assert len(hook.requests) == 2 and all(r.json()["review_id"] in delivered for r in (routed, failing))
    assert "죽고 싶어요" not in delivered
    with Store.open(url) as store:
        for response in (routed, failing):
            item = store.get_review_item(response.json()["review_id"])
            assert (item["reason"], item["priority"]) == ("guard", 100)
            assert item["suggestion_text"] == CRISIS  # the pinned answer, kept for the reviewer
            trace = store.get_trace(response.json()["trace_id"])
            assert trace["tags"]["guard"] == {"action": "route", "checks": ["crisis"]}
            assert "output of fallback version old" in trace["note"] and "crisis.ko.want_to_die" in trace["note"]
        blocked_trace = store.get_trace(blocked.json()["trace_id"])
        assert blocked_trace["tags"]["guard"] == {"action": "block", "checks": ["crisis"]}
        assert "109" in blocked_trace["output_text"]
