"""Consent and deletion per end user, end to end: the real gateway, the review queue, `andon review export`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.support.gateway_server import GatewayServer, write_workspace

from andon.gateway.auth import create_key
from andon.store import Store

pytestmark = pytest.mark.timeout(300)

POLICY = '''\
"""Routing of the consent test workspace."""


def to_human(variables, output):
    """Every call goes to a person, so each becomes a review item."""
    return "human"
'''


def _andon(root: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en", "ANDON_DATABASE_URL": db}
    return subprocess.run([sys.executable, "-m", "andon", *args], cwd=root, env=env, capture_output=True, text=True)


def test_only_consenting_users_become_cases_and_deletion_counts_and_spares_others(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    features = {"support": {"versions": {"v1": {"python": "gw_rules:echo"}}, "serve": {
        "data_use": {"inputs": "full"}, "routing": {"policy": "consent_policy:to_human"}}}}  # fmt: skip
    ws = write_workspace(tmp_path / "ws", features=features)
    (ws / "consent_policy.py").write_text(POLICY, encoding="utf-8")
    allowed = _andon(ws, db, "data-use", "allow-cases", "support", "--reason", "test")
    assert allowed.returncode == 0, allowed.stderr
    with Store.open(db) as store:
        invoke_key = create_key(store, "app", ["invoke"], None)[1]
        privacy_key = create_key(store, "backend", ["privacy", "review"], None)[1]
    callers = {  # who calls: (user, tenant)
        "alice": ("alice", None), "bob": ("bob", None), "carol": ("carol", None),
        "dave": ("dave", "acme"), "anon": (None, None),
    }  # fmt: skip
    with GatewayServer(ws, database_url=db) as server, httpx.Client(base_url=server.base_url, timeout=60) as http:
        app = {"authorization": f"Bearer {invoke_key}"}
        backend = {"authorization": f"Bearer {privacy_key}"}
        refused = http.put("/v1/consent/alice", json={"cases": True}, headers=app)
        assert refused.status_code == 403  # an invoke key cannot set anyone's consent
        assert http.get("/v1/consent/carol", headers=backend).json() == {
            "kind": "user", "subject": "carol", "cases": False, "improve": False,
            "updated_by": None, "updated_at": None,
        }  # fmt: skip
        assert http.put("/v1/consent/alice", json={"cases": True}, headers=backend).json()["cases"] is True
        assert http.put("/v1/consent/bob", json={"cases": False, "improve": True}, headers=backend).status_code == 200
        assert http.put("/v1/consent/acme?kind=tenant", json={"cases": True}, headers=backend).status_code == 200
        traces = {}
        for name, (user, tenant) in callers.items():
            body = {"variables": {"text": f"hello from {name}"}, "user_id": user, "tenant": tenant}
            answer = http.post("/v1/features/support/invoke", json=body, headers=app)
            assert answer.status_code == 202, answer.text
            traces[name] = answer.json()
            decided = http.post(
                f"/v1/reviews/{answer.json()['review_id']}/decision", json={"label": "ok"}, headers=backend
            )
            assert decided.status_code == 200, decided.text
        feedback = http.post(f"/v1/traces/{traces['bob']['trace_id']}/feedback", json={"thumbs": 1}, headers=app)
        assert feedback.status_code in (200, 201), feedback.text

        exported = _andon(ws, db, "review", "export", "support", "--to-dataset", "cases.jsonl", "--json")
        assert exported.returncode == 0, exported.stderr
        result = json.loads(exported.stdout)
        ids = {name: traces[name]["review_id"] for name in callers}
        assert sorted(result["written"]) == sorted([ids["alice"], ids["dave"], ids["anon"]])
        assert sorted(r["id"] for r in result["refused"]) == sorted([ids["bob"], ids["carol"]])
        written = (ws / "cases.jsonl").read_text(encoding="utf-8")
        assert "hello from bob" not in written and "hello from carol" not in written

        deleted = http.delete("/v1/users/bob/traces", headers=backend)
        assert http.delete("/v1/users/bob/traces", headers=app).status_code == 403
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {
        "user": "bob", "traces": 1, "outputs": 1, "feedback": 1, "review_items": 1, "cache_entries": 0,
    }  # fmt: skip
    with Store.open(db) as store:
        left = {trace["user_id"] for trace in store.list_traces("support")}
        assert left == {"alice", "carol", "dave", None}
        for name in ("alice", "carol", "dave", "anon"):  # the other outputs' provenance is intact
            trace = store.get_trace(traces[name]["trace_id"])
            assert store.get_output(trace["output_id"]).feature == "support"
