"""Promotion gated by real evaluations, forced promotions, rollback, history, feature state: SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.support.gateway_server import GatewayServer
from tests.support.gateway_server import write_workspace as write_gateway_workspace

from andon import deploy
from andon.deploy import PromotionRefused, live_stack
from andon.errors import AndonError, ConfigError, NotFoundError
from andon.evals.dataset import load_dataset
from andon.evals.runner import run_evaluation
from andon.gateway.auth import create_key
from andon.store.deploy import LiveRecord
from andon.workspace import Workspace

RULES = """
def good(variables):
    return {"decision": "reject" if "010" in variables["text"] else "approve"}


def bad(variables):
    return {"decision": "approve"}


def fresh(variables):
    return {"decision": "reject" if "010" in variables["text"] else "approve"}
"""

CASES = [
    {"id": f"c{i}", "vars": {"text": text}, "label": label}
    for i, (text, label) in enumerate(
        [
            ("call me 010-1234-5678", "reject"),
            ("fresh kimbap", "approve"),
            ("010 9999 0000 for a deal", "reject"),
            ("tteokbokki set", "approve"),
            ("bibimbap", "approve"),
            ("reach 010-2222-3333", "reject"),
        ]
    )
]


def write_workspace(
    root: Path, *, criteria: str = "accuracy >= 0.9", live: str | None = None, extra: str | None = None
) -> None:
    """A workspace with three rule versions: one right, one always approving, one never evaluated.

    ``extra`` declares one more version after them (``good``'s rule as a named step: its own id).
    """
    (root / "deploy_rules.py").write_text(RULES, encoding="utf-8")
    (root / "cases.jsonl").write_text("\n".join(json.dumps(c) for c in CASES) + "\n", encoding="utf-8")
    serve = f"serve: {{live: {live}}}" if live else ""
    (root / "andon.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: deploy-test
            features:
              listing:
                dataset: cases.jsonl
                graders:
                  - type: label
                    path: decision
                    options: {{labels: [approve, reject]}}
                criteria: ["{criteria}"]
                {serve}
                versions:
                  good: {{python: deploy_rules:good}}
                  bad: {{python: deploy_rules:bad}}
                  fresh: {{python: deploy_rules:fresh}}
                  {f"{extra}: {{steps: [{{name: short, python: 'deploy_rules:good'}}]}}" if extra else ""}
              other:
                versions:
                  only: {{python: deploy_rules:good}}
            """
        ),
        encoding="utf-8",
    )


def evaluate(ws: Workspace, *names: str, dataset: str = "cases.jsonl") -> str:
    """Run a real evaluation of ``names`` on a dataset; returns the run id."""
    data = load_dataset(Path(dataset), ws.root)
    versions = [ws.version("listing", n) for n in names]

    async def go() -> str:
        try:
            outcome = await run_evaluation(ws, "listing", versions, data, repeats=1, concurrency=2)
        finally:
            await ws.aclose_providers()
        return outcome.run_id

    return asyncio.run(go())


@pytest.fixture
def ws(tmp_path: Path, database_url: str) -> Iterator[Workspace]:
    write_workspace(tmp_path)
    with Workspace.open(tmp_path, database_url=database_url) as opened:
        yield opened


def test_promotion_is_refused_by_criteria_and_names_the_run(ws: Workspace) -> None:
    run_id = evaluate(ws, "good", "bad")
    with pytest.raises(PromotionRefused) as refused:
        deploy.promote(ws, "listing", "bad", actor="jieun")
    error = refused.value
    assert error.run_id == run_id and error.exit_code == 1
    assert len(error.failing) == 1 and error.failing[0].startswith("accuracy >= 0.9: measured 0.5")
    assert run_id in str(error) and "--force" in (error.hint or "")
    assert ws.store.live_history("listing") == []  # nothing was recorded

    result = deploy.promote(ws, "listing", "good", actor="jieun")
    assert result.changed and result.verdict.passed and result.verdict.run_id == run_id
    assert ws.store.live_version("listing") == (ws.version("listing", "good").id, "good")
    assert result.record is not None and not result.record.forced and result.record.run_id == run_id


def test_never_evaluated_and_unfinished_runs_do_not_count(ws: Workspace) -> None:
    with pytest.raises(PromotionRefused, match="never evaluated") as refused:
        deploy.promote(ws, "listing", "fresh")
    assert refused.value.run_id is None and "andon eval listing --versions fresh" in (refused.value.hint or "")
    run_id = evaluate(ws, "fresh")
    ws.store.set_run_status(run_id, "interrupted", "Ctrl-C")
    with pytest.raises(PromotionRefused, match=f"run {run_id} includes it but ended interrupted"):
        deploy.promote(ws, "listing", "fresh")


def test_the_latest_finished_run_decides(ws: Workspace) -> None:
    older = evaluate(ws, "bad")
    approvals = [c for c in CASES if c["label"] == "approve"]
    (ws.root / "approvals.jsonl").write_text("\n".join(json.dumps(c) for c in approvals), encoding="utf-8")
    newer = evaluate(ws, "bad", dataset="approvals.jsonl")  # "always approve" is right on every one of these
    verdict = deploy.evaluation_verdict(ws, "listing", ws.version("listing", "bad"))
    assert (verdict.run_id, verdict.passed, verdict.failing) == (newer, True, [])
    evaluate(ws, "good")  # a newer run without this version changes nothing
    assert deploy.evaluation_verdict(ws, "listing", ws.version("listing", "bad")).run_id == newer
    assert older != newer


def test_criteria_come_from_the_current_andon_yaml_and_must_be_the_runs(tmp_path: Path, database_url: str) -> None:
    write_workspace(tmp_path)
    with Workspace.open(tmp_path, database_url=database_url) as ws:
        run_id = evaluate(ws, "bad")
        with pytest.raises(PromotionRefused):
            deploy.promote(ws, "listing", "bad")
    write_workspace(tmp_path, criteria="accuracy >= 0.4")
    with Workspace.open(tmp_path, database_url=database_url) as ws:
        # Issue 16 item 11: loosening the criteria after the run no longer passes it (this used to promote).
        with pytest.raises(PromotionRefused, match="other criteria"):
            deploy.promote(ws, "listing", "bad")
        new_run = evaluate(ws, "bad")
        result = deploy.promote(ws, "listing", "bad")
    assert result.changed and result.verdict.run_id == new_run != run_id
    assert result.verdict.criteria[0].text == "accuracy >= 0.4"


def test_forced_promotion_needs_a_reason_and_is_recorded(ws: Workspace) -> None:
    run_id = evaluate(ws, "good", "bad")
    with pytest.raises(ConfigError, match="--force needs --reason"):
        deploy.promote(ws, "listing", "bad", force=True)
    with pytest.raises(ConfigError, match="--force needs --reason"):
        deploy.promote(ws, "listing", "bad", force=True, reason="   ")
    result = deploy.promote(ws, "listing", "bad", force=True, actor="minho", reason="hotfix for the launch")
    record = result.record
    assert record is not None and record.forced and record.action == "promote"
    assert (record.actor, record.reason, record.run_id) == ("minho", "hotfix for the launch", run_id)
    assert result.verdict.failing and not result.verdict.passed
    # A forced promotion of a version that passes is not "forced": nothing was overridden.
    passed = deploy.promote(ws, "listing", "good", force=True, actor="minho", reason="back to good")
    assert passed.record is not None and not passed.record.forced


def test_forcing_a_never_evaluated_version_records_no_run(ws: Workspace) -> None:
    result = deploy.promote(ws, "listing", "fresh", force=True, actor="a", reason="demo day")
    assert result.record is not None and result.record.forced and result.record.run_id is None


def test_promoting_the_live_version_changes_nothing(ws: Workspace) -> None:
    evaluate(ws, "good")
    assert deploy.promote(ws, "listing", "good", actor="a").changed
    again = deploy.promote(ws, "listing", "good", actor="b")
    assert not again.changed and len(ws.store.live_history("listing")) == 1


def test_rollback_walks_back_through_the_history(ws: Workspace) -> None:
    evaluate(ws, "good", "bad", "fresh")
    ids = {n: ws.version("listing", n).id for n in ("good", "bad", "fresh")}
    with pytest.raises(AndonError, match="nothing was promoted yet"):
        deploy.rollback(ws, "listing")
    deploy.promote(ws, "listing", "good", actor="a")
    with pytest.raises(AndonError, match="only good"):
        deploy.rollback(ws, "listing")
    deploy.promote(ws, "listing", "bad", force=True, actor="a", reason="try it")
    deploy.promote(ws, "listing", "fresh", actor="a")
    first = deploy.rollback(ws, "listing", actor="b", reason="fresh breaks checkout")
    assert (first.version_id, first.action, first.actor, first.reason) == (
        ids["bad"], "rollback", "b", "fresh breaks checkout"
    )  # fmt: skip
    assert ws.store.live_version("listing") == (ids["bad"], "bad")
    second = deploy.rollback(ws, "listing", actor="b")
    assert second.version_id == ids["good"] and ws.store.live_version("listing") == (ids["good"], "good")
    with pytest.raises(AndonError, match="cannot roll back"):
        deploy.rollback(ws, "listing")
    rows = deploy.history(ws, "listing")
    assert [(r.action, r.version_name) for r in rows] == [
        ("promote", "good"), ("promote", "bad"), ("promote", "fresh"), ("rollback", "bad"), ("rollback", "good"),
    ]  # fmt: skip
    assert [r.forced for r in rows] == [False, True, False, False, False]
    assert ws.store.live_history("other") == []  # features are kept apart


def test_live_state_defaults_and_unknown_names(tmp_path: Path, database_url: str) -> None:
    write_workspace(tmp_path, live="good")
    with Workspace.open(tmp_path, database_url=database_url) as ws:
        evaluate(ws, "good")  # issue 16 item 2: serve.live passes the promotion gate first (it used to need nothing)
        state = deploy.live_version(ws, "listing")
        assert (state.version_name, state.source, state.stopped) == ("good", "serve.live", False)
        assert deploy.live_version(ws, "other").source is None  # nothing promoted, nothing live (was "last declared")
        with pytest.raises(NotFoundError, match="known features: listing, other"):
            deploy.live_version(ws, "nope")
        with pytest.raises(NotFoundError):
            deploy.promote(ws, "listing", "v9")
        deploy.promote(ws, "listing", "fresh", force=True, actor="a", reason="r")
        state = deploy.live_version(ws, "listing")
        assert (state.version_name, state.source) == ("fresh", "promoted") and state.record is not None


def test_stop_and_resume_are_recorded_events(ws: Workspace) -> None:
    assert ws.store.feature_stopped("listing") == (False, None)
    with pytest.raises(ConfigError, match="needs a reason"):
        deploy.stop_feature(ws, "listing", reason=" ")
    stopped = deploy.stop_feature(ws, "listing", reason="leaks phone numbers", actor="oncall")
    assert stopped is not None and stopped.kind == "stopped" and stopped.actor == "oncall"
    assert ws.store.feature_stopped("listing") == (True, "leaks phone numbers")
    assert ws.store.feature_stopped("other") == (False, None)
    assert deploy.stop_feature(ws, "listing", reason="again") is None  # already stopped: no new event
    assert deploy.live_version(ws, "listing").stopped
    resumed = deploy.resume_feature(ws, "listing", actor="oncall", reason="filter deployed")
    assert resumed is not None and resumed.kind == "resumed"
    assert ws.store.feature_stopped("listing") == (False, None)
    assert deploy.resume_feature(ws, "listing") is None
    kinds = [(e.kind, e.reason) for e in deploy.state_events(ws, "listing")]
    assert kinds == [("stopped", "leaks phone numbers"), ("resumed", "filter deployed")]


def test_data_use_grant_is_off_by_default_and_audited(ws: Workspace) -> None:
    assert ws.store.cases_allowed("listing") is False
    with pytest.raises(ConfigError, match="needs a reason"):
        deploy.set_cases_allowed(ws, "listing", True, reason=None)
    granted = deploy.set_cases_allowed(ws, "listing", True, reason="consent policy P-12", actor="admin")
    assert granted is not None and granted.kind == "cases_allowed" and granted.value == {"cases_allowed": True}
    assert ws.store.cases_allowed("listing") and not ws.store.cases_allowed("other")
    assert deploy.set_cases_allowed(ws, "listing", True, reason="again") is None
    denied = deploy.set_cases_allowed(ws, "listing", False, reason=None, actor="admin")
    assert denied is not None and ws.store.cases_allowed("listing") is False
    with pytest.raises(ValueError, match="unknown feature event"):
        ws.store.record_feature_event("listing", "exploded", {}, "a", None)


def test_default_actor_prefers_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "jieun")
    assert deploy.default_actor() == "jieun"
    monkeypatch.delenv("USER")
    monkeypatch.delenv("LOGNAME", raising=False)
    assert deploy.default_actor()  # git config user.name or the login name: never empty


# The history replay -----------------------------------------------------------------------------------------


def _row(n: int, action: str, version: str) -> LiveRecord:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n)
    return LiveRecord(n, "f", version, version.upper(), action, False, "a", None, None, at)


def _simulate(ops: list[str | None]) -> tuple[list[LiveRecord], list[str]]:
    """Apply promote(v) / rollback (None) as andon.deploy does; returns the rows and a plain model stack."""
    rows: list[LiveRecord] = []
    model: list[str] = []
    for op in ops:
        stack = live_stack(rows)
        if op is None:
            if len(stack) < 2:
                continue
            rows.append(_row(len(rows) + 1, "rollback", stack[-2][0]))
            model.pop()
        elif not stack or stack[-1][0] != op:
            rows.append(_row(len(rows) + 1, "promote", op))
            model.append(op)
    return rows, model


OPS = st.lists(st.one_of(st.none(), st.sampled_from(["v1", "v2", "v3", "v4"])), max_size=40)


@given(OPS)
def test_replay_matches_a_stack_and_the_newest_row_is_live(ops: list[str | None]) -> None:
    rows, model = _simulate(ops)
    stack = [v for v, _ in live_stack(rows)]
    assert stack == model
    if rows:
        assert rows[-1].version_id == model[-1]  # what the gateway reads as live


@given(OPS, st.data())
def test_a_rollback_recorded_twice_by_a_race_counts_once(ops: list[str | None], data: st.DataObject) -> None:
    rows, _ = _simulate(ops)
    rollbacks = [i for i, r in enumerate(rows) if r.action == "rollback"]
    if not rollbacks:
        return
    i = data.draw(st.sampled_from(rollbacks))
    doubled = [*rows[: i + 1], rows[i], *rows[i + 1 :]]
    assert live_stack(doubled) == live_stack(rows)


# The CLI ----------------------------------------------------------------------------------------------------


def andon(*args: str, cwd: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en", "ANDON_DATABASE_URL": database_url, "USER": "cli-user"}
    env.pop("ANDON_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_promote_live_rollback_stop(tmp_path: Path, database_url: str) -> None:
    write_workspace(tmp_path)
    with Workspace.open(tmp_path, database_url=database_url) as ws:
        run_id = evaluate(ws, "good", "bad")
    refused = andon("promote", "listing", "bad", cwd=tmp_path, database_url=database_url)
    assert refused.returncode == 1, refused.stderr
    assert run_id in refused.stderr and "accuracy >= 0.9" in refused.stderr and "Traceback" not in refused.stderr
    no_reason = andon("promote", "listing", "bad", "--force", cwd=tmp_path, database_url=database_url)
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    ok = andon("promote", "listing", "good", cwd=tmp_path, database_url=database_url)
    assert ok.returncode == 0 and "good" in ok.stdout and "is live now" in ok.stdout, ok.stderr
    forced = andon("promote", "listing", "bad", "--force", "--reason", "launch", "--actor", "minho", "--json",
                   cwd=tmp_path, database_url=database_url)  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    record = json.loads(forced.stdout)["record"]
    assert (record["forced"], record["actor"], record["reason"], record["run_id"]) == (True, "minho", "launch", run_id)
    back = andon("rollback", "listing", "--reason", "oops", cwd=tmp_path, database_url=database_url)
    assert back.returncode == 0 and "good" in back.stdout, back.stderr
    stop = andon("stop", "listing", "--reason", "PII leak", cwd=tmp_path, database_url=database_url)
    assert stop.returncode == 0 and "stopped" in stop.stdout, stop.stderr
    shown = andon("live", "listing", "--json", cwd=tmp_path, database_url=database_url)
    state = json.loads(shown.stdout)
    assert state["version_name"] == "good" and state["stopped"] and state["stop_reason"] == "PII leak"
    assert [(h["action"], h["version_name"], h["actor"]) for h in state["history"]] == [
        ("promote", "good", "cli-user"), ("promote", "bad", "minho"), ("rollback", "good", "cli-user"),
    ]  # fmt: skip
    table = andon("live", "listing", cwd=tmp_path, database_url=database_url)
    assert "forced" in table.stdout and "PII leak" in table.stdout
    allow = andon("data-use", "allow-cases", "listing", "--reason", "consent", cwd=tmp_path, database_url=database_url)
    assert allow.returncode == 0, allow.stderr
    use = json.loads(andon("data-use", "show", "listing", "--json", cwd=tmp_path, database_url=database_url).stdout)
    assert use["cases_allowed"] and use["grant"]["actor"] == "cli-user" and use["inputs"] == "redacted"


def test_the_gateway_serves_what_was_promoted_and_rolled_back(tmp_path: Path, database_url: str) -> None:
    v2 = {"steps": [{"name": "rules", "python": "gw_rules:echo"}]}  # same rule, different content: its own id
    pair = {"versions": {"v1": {"python": "gw_rules:echo"}, "v2": v2}}
    folder = write_gateway_workspace(tmp_path / "ws", features={"pair": pair})
    with Workspace.open(folder, database_url=database_url) as ws:
        _, secret = create_key(ws.store, "app", ["invoke"], None)

    def served(server: GatewayServer) -> str:
        reply = httpx.post(f"{server.base_url}/v1/features/pair/invoke", json={"variables": {"text": "x"}},
                           headers={"authorization": f"Bearer {secret}"}, timeout=30)  # fmt: skip
        if reply.status_code == 409:
            error = reply.json()["error"]
            assert "andon promote pair VERSION" in error["hint"], error
            return str(error["code"])
        assert reply.status_code == 200, reply.text
        return str(reply.json()["version_name"])

    with GatewayServer(folder, database_url=database_url, promote=False) as server:
        assert served(server) == "not_live"  # nothing promoted: nothing is live (it used to serve the last declared)
        with Workspace.open(folder, database_url=database_url) as ws:
            deploy.promote(ws, "pair", "v1", force=True, actor="a", reason="first launch")
        assert served(server) == "v1"
        with Workspace.open(folder, database_url=database_url) as ws:
            deploy.promote(ws, "pair", "v2", force=True, actor="a", reason="new rules")
        assert served(server) == "v2"
        with Workspace.open(folder, database_url=database_url) as ws:
            deploy.rollback(ws, "pair", actor="a")
        assert served(server) == "v1"
