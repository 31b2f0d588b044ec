"""A stopped feature routes as its fallback says: the review queue, a pinned version, or off (a refusal), through
the real gateway on loopback; and `andon check` refuses a fallback that names no version, with file:line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from tests.support.gateway_server import GatewayServer
from tests.watch.watch_support import RULES, write_yaml

from andon import deploy
from andon.evals.check import check_workspace
from andon.workspace import Workspace

PINNED_RULE = '''

def pinned(variables):
    """The version kept for a stopped feature: always sends the menu to a person's judgement."""
    return {"decision": "hold"}
'''


def _feature(fallback: str | None) -> dict[str, Any]:
    versions: dict[str, Any] = {"v1": {"python": "watch_rules:decide"}}
    if fallback not in (None, "queue", "off"):
        versions = {fallback: {"python": "watch_rules:pinned"}, **versions}  # v1 last: it is the one promoted
    routing = {} if fallback is None else {"routing": {"fallback": fallback}}
    return {"versions": versions, "serve": {"live": "v1", **routing}}


def _workspace(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "watch_rules.py").write_text(RULES + PINNED_RULE, encoding="utf-8")
    features = {"queued": _feature(None), "refused": _feature("off"), "pinned": _feature("safe")}
    config = {"andon": 1, "name": "stopped-routes", "features": features, "gateway": {"auth": False}}
    (root / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    return root


def _invoke(client: httpx.Client, feature: str) -> httpx.Response:
    return client.post(f"/v1/features/{feature}/invoke", json={"variables": {"decision": "approve"}})


def test_a_stopped_feature_takes_its_fallback_queue_pinned_version_or_off(tmp_path: Path, database_url: str) -> None:
    root = _workspace(tmp_path / "ws")
    with (
        GatewayServer(root, database_url=database_url) as server,
        Workspace.open(root, database_url=database_url) as ws,
        httpx.Client(base_url=server.base_url, timeout=30) as client,
    ):
        before = {name: _invoke(client, name).json() for name in ("queued", "refused", "pinned")}
        assert {b["route"] for b in before.values()} == {"ai"} and {b["version_name"] for b in before.values()} == {
            "v1"
        }
        for name in before:
            deploy.stop_feature(ws, name, reason="phone numbers in answers", actor="jimin")
        queued, refused, pinned = (_invoke(client, name) for name in ("queued", "refused", "pinned"))

        assert queued.status_code == 202, queued.text
        assert (queued.json()["route"], queued.json()["status"]) == ("human", "queued") and queued.json()["review_id"]

        assert refused.status_code == 503, refused.text
        error = refused.json()["error"]
        assert error["code"] == "feature_stopped" and error["route"] == "fallback"
        assert "refused" in error["message"] and "phone numbers in answers" in error["message"]
        assert "andon resume refused" in error["hint"]
        refusal = ws.store.get_trace(error["trace_id"])
        assert (refusal["route"], refusal["status"], refusal["error_code"]) == ("fallback", "error", "feature_stopped")
        assert refusal["provider"] is None and refusal["output_id"] is None  # nobody was asked

        assert pinned.status_code == 200, pinned.text
        body = pinned.json()
        assert (body["route"], body["status"], body["version_name"]) == ("fallback", "ok", "safe")
        assert body["output_json"] == {"decision": "hold"} and body["error"] is None
        served = ws.store.get_trace(body["trace_id"])
        assert (served["route"], served["version_name"], served["error_code"]) == (
            "fallback",
            "safe",
            "feature_stopped",
        )
        provenance = ws.store.get_output(served["output_id"])
        assert provenance.version_id == served["version_id"] == body["version_id"] != before["pinned"]["version_id"]
        assert "feature stopped: phone numbers in answers" in (served["note"] or "")

        deploy.resume_feature(ws, "pinned", actor="jimin", reason="filter deployed")
        again = _invoke(client, "pinned").json()
        assert (again["route"], again["version_name"]) == ("ai", "v1")


def test_a_stopped_feature_s_fallback_calls_say_nothing_of_the_live_version(tmp_path: Path, database_url: str) -> None:
    """Refusals and pinned answers of a stopped feature count in neither its error rate nor its labels."""
    from datetime import timedelta

    from andon.store.models import utcnow

    root = _workspace(tmp_path / "ws")
    with GatewayServer(root, database_url=database_url) as server, httpx.Client(base_url=server.base_url) as client:
        start = utcnow() - timedelta(seconds=1)
        with Workspace.open(root, database_url=database_url) as ws:
            for name in ("refused", "pinned"):
                deploy.stop_feature(ws, name, reason="checking", actor="jimin")
            statuses = [_invoke(client, name).status_code for name in ("refused", "pinned") for _ in range(3)]
            end = utcnow() + timedelta(seconds=1)
            assert statuses == [503] * 3 + [200] * 3
            for name in ("refused", "pinned"):
                assert ws.store.trace_calls(name, start, end) == 3  # calls all the same
                assert ws.store.trace_share(name, start, end, "error") == (0, 0)
                assert ws.store.trace_share(name, start, end, "label", path=("decision",), labels=["hold"]) == (0, 0)
                assert ws.store.trace_share(name, start, end, "route", route="fallback") == (3, 3)


def test_check_refuses_a_fallback_that_names_no_version(tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path,
        """\
        andon: 1
        features:
          menu:
            versions:
              v1: {python: "watch_rules:decide"}
              safe: {python: "watch_rules:decide_v2"}
            serve:
              routing:
                fallback: saef
        """,
    )
    report = check_workspace(path)
    (problem,) = report.problems
    assert problem.where.startswith(f"{path}:9:"), problem  # the line of `fallback: saef`
    assert problem.field == "features.menu.serve.routing.fallback" and "saef" in problem.message
    assert problem.hint is not None and "safe" in problem.hint
    path.write_text(path.read_text(encoding="utf-8").replace("saef", "safe"), encoding="utf-8")
    assert check_workspace(path).valid
