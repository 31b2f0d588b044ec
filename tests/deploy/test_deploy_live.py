"""What is live (issue 16 items 2 and 11): nothing until promoted, and the criteria a promotion was judged on.

SQLite and PostgreSQL: the live-version history and the runs it cites are in the store.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from tests.deploy.test_promotion import andon, evaluate, write_workspace

from andon import deploy
from andon.deploy import PromotionRefused
from andon.errors import AndonError
from andon.gateway.service import Gateway
from andon.gateway.types import Caller
from andon.workspace import Workspace

CALLER = Caller(api_key_id="key_1", user_id="u-1", session_id=None, tenant=None, tags={})


def opened(root: Path, database_url: str) -> Workspace:
    return Workspace.open(root, database_url=database_url)


# Item 2: a version that was never evaluated became live ------------------------------------------------


def test_nothing_is_live_until_promoted(tmp_path: Path, database_url: str) -> None:
    write_workspace(tmp_path)
    with opened(tmp_path, database_url) as ws:
        state = deploy.live_version(ws, "listing")
        assert (state.version_id, state.version_name, state.source) == (None, None, None)
        with pytest.raises(AndonError, match="nothing is live") as raised:
            state.require()
        assert "andon promote listing VERSION" in (raised.value.hint or "")
        evaluate(ws, "good")
        deploy.promote(ws, "listing", "good", actor="a")
        state = deploy.live_version(ws, "listing")
        assert (state.version_name, state.source) == ("good", "promoted")


def test_a_new_declaration_never_changes_what_serves(tmp_path: Path, database_url: str) -> None:
    write_workspace(tmp_path)
    with opened(tmp_path, database_url) as ws:
        evaluate(ws, "good")
        deploy.promote(ws, "listing", "good", actor="a")
    write_workspace(tmp_path, extra="v3-short")  # declared last, never evaluated
    with opened(tmp_path, database_url) as ws:
        assert ws.declared_versions("listing")[-1].name == "v3-short"
        assert deploy.live_version(ws, "listing").version_name == "good"
        with pytest.raises(PromotionRefused, match="never evaluated"):
            deploy.promote(ws, "listing", "v3-short")


def test_serve_live_passes_the_same_gate_as_promote(tmp_path: Path, database_url: str) -> None:
    write_workspace(tmp_path, live="good")
    with opened(tmp_path, database_url) as ws:
        state = deploy.live_version(ws, "listing")
        assert state.version_id is None and "never evaluated" in (state.why_not or "")
        evaluate(ws, "good", "bad")
        state = deploy.live_version(ws, "listing")
        assert (state.version_name, state.source, state.record) == ("good", "serve.live", None)
    write_workspace(tmp_path, live="bad")
    with opened(tmp_path, database_url) as ws:
        state = deploy.live_version(ws, "listing")
        assert state.version_id is None and "accuracy >= 0.9" in (state.why_not or "")
        deploy.promote(ws, "listing", "good", actor="a")  # a promotion wins over serve.live
        assert deploy.live_version(ws, "listing").source == "promoted"


def test_the_gateway_refuses_a_feature_with_nothing_live(tmp_path: Path, database_url: str) -> None:
    write_workspace(tmp_path)

    async def go(ws: Workspace) -> list[Any]:
        gateway = Gateway(ws, prune_interval_s=None)
        await gateway.start()
        try:
            with pytest.raises(AndonError, match="nothing is live") as refused:
                await gateway.invoke("listing", {"text": "bibimbap"}, CALLER)
            assert "andon promote listing VERSION" in (refused.value.hint or "")
            with pytest.raises(AndonError, match="nothing is live"):
                await gateway.live_version("other")
            pinned = await gateway.invoke("listing", {"text": "bibimbap"}, CALLER, version="fresh")  # asked for
            deploy.promote(ws, "listing", "good", actor="a")
            served = await gateway.invoke("listing", {"text": "bibimbap"}, CALLER)
            return [pinned.version_name, served.version_name]
        finally:
            await gateway.stop()
            await ws.aclose_providers()

    with opened(tmp_path, database_url) as ws:
        evaluate(ws, "good")
        assert asyncio.run(go(ws)) == ["fresh", "good"]
    write_workspace(tmp_path, extra="v3-short")

    async def again(ws: Workspace) -> str:
        gateway = Gateway(ws, prune_interval_s=None)
        await gateway.start()
        try:
            return (await gateway.invoke("listing", {"text": "bibimbap"}, CALLER)).version_name
        finally:
            await gateway.stop()
            await ws.aclose_providers()

    with opened(tmp_path, database_url) as ws:
        assert asyncio.run(again(ws)) == "good"  # the new declaration changed nothing


def test_cli_live_and_invoke_say_nothing_is_live_and_how_to_fix_it(tmp_path: Path, database_url: str) -> None:
    write_workspace(tmp_path)
    shown = andon("live", "other", cwd=tmp_path, database_url=database_url)
    assert shown.returncode == 0, shown.stderr
    assert "nothing is live" in shown.stdout and "andon promote other VERSION" in shown.stdout
    assert "last declared" not in shown.stdout
    table = andon("live", "--json", cwd=tmp_path, database_url=database_url)
    assert [(s["feature"], s["version_id"], s["source"]) for s in json.loads(table.stdout)] == [
        ("listing", None, None), ("other", None, None),
    ]  # fmt: skip
    called = andon("invoke", "other", "--var", "text=x", cwd=tmp_path, database_url=database_url)
    assert called.returncode == 2 and "andon promote other VERSION" in called.stderr, called.stderr
    assert "Traceback" not in called.stderr
    asked = andon("invoke", "other", "--var", "text=x", "--version", "only", "--json", cwd=tmp_path,
                  database_url=database_url)  # fmt: skip
    assert asked.returncode == 0 and json.loads(asked.stdout)["context"]["version_name"] == "only", asked.stderr


# Item 11: loosening criteria after the fact was accepted ------------------------------------------------


def test_loosened_criteria_do_not_pass_an_old_run_without_force(tmp_path: Path, database_url: str) -> None:
    write_workspace(tmp_path)  # accuracy >= 0.9: "bad" measures 0.5
    with opened(tmp_path, database_url) as ws:
        run_id = evaluate(ws, "bad")
    write_workspace(tmp_path, criteria="pass_rate >= 0.5")
    with opened(tmp_path, database_url) as ws:
        with pytest.raises(PromotionRefused) as refused:
            deploy.promote(ws, "listing", "bad", actor="a")
        text = str(refused.value)
        assert run_id in text and "accuracy >= 0.9" in text and "pass_rate >= 0.5" in text
        assert "--force" in (refused.value.hint or "") and ws.store.live_history("listing") == []
        verdict = deploy.evaluation_verdict(ws, "listing", ws.version("listing", "bad"))
        assert verdict.criteria_changed and not verdict.passed and verdict.run_criteria == ["accuracy >= 0.9"]
        result = deploy.promote(ws, "listing", "bad", force=True, actor="a", reason="50% is enough for the pilot")
        record = result.record
        assert record is not None and record.forced and record.run_id == run_id
        assert record.criteria == {"criteria": ["pass_rate >= 0.5"], "strict": False}
        assert record.criteria_sha256 == verdict.criteria_sha256
        assert record.run_criteria_sha256 == verdict.run_criteria_sha256 != record.criteria_sha256
        assert record.criteria_changed
        assert ws.store.live_history("listing")[-1] == record  # what was stored is what was returned


def test_tightened_criteria_also_need_a_new_run(tmp_path: Path, database_url: str) -> None:
    write_workspace(tmp_path)
    with opened(tmp_path, database_url) as ws:
        evaluate(ws, "good")  # accuracy 1.0: passes 0.9 and 0.95 alike
    write_workspace(tmp_path, criteria="accuracy >= 0.95")
    with opened(tmp_path, database_url) as ws:
        with pytest.raises(PromotionRefused, match="criteria"):
            deploy.promote(ws, "listing", "good", actor="a")
        new_run = evaluate(ws, "good")  # evaluated under the criteria andon.yaml has now: the gate is open
        result = deploy.promote(ws, "listing", "good", actor="a")
        assert result.record is not None and not result.record.forced and result.record.run_id == new_run
        assert not result.record.criteria_changed


def test_the_same_criteria_written_differently_are_the_same(tmp_path: Path, database_url: str) -> None:
    write_workspace(tmp_path)
    with opened(tmp_path, database_url) as ws:
        evaluate(ws, "good")
    write_workspace(tmp_path, criteria="accuracy>=90%")
    with opened(tmp_path, database_url) as ws:
        result = deploy.promote(ws, "listing", "good", actor="a")
        record = result.record
        assert record is not None and not record.forced and not record.criteria_changed
        assert record.criteria_sha256 == record.run_criteria_sha256 is not None


def test_cli_shows_a_promotion_against_other_criteria(tmp_path: Path, database_url: str) -> None:
    write_workspace(tmp_path)
    with opened(tmp_path, database_url) as ws:
        run_id = evaluate(ws, "bad")
    write_workspace(tmp_path, criteria="pass_rate >= 0.5")
    refused = andon("promote", "listing", "bad", cwd=tmp_path, database_url=database_url)
    assert refused.returncode == 1 and "criteria" in refused.stderr and run_id in refused.stderr, refused.stderr
    forced = andon("promote", "listing", "bad", "--force", "--reason", "pilot", cwd=tmp_path, database_url=database_url)
    assert forced.returncode == 0, forced.stderr
    assert "criteria" in forced.stdout and "accuracy >= 0.9" in forced.stdout
    shown = json.loads(andon("live", "listing", "--json", cwd=tmp_path, database_url=database_url).stdout)
    row = shown["history"][-1]
    assert row["criteria"] == {"criteria": ["pass_rate >= 0.5"], "strict": False} and row["criteria_changed"]
    table = andon("live", "listing", cwd=tmp_path, database_url=database_url)
    assert "other criteria" in table.stdout, table.stdout


# The demo evaluates, then promotes through the gate --------------------------------------------------------


def test_the_demo_promotes_only_a_version_that_passed(tmp_path: Path, database_url: str) -> None:
    from andon.cli.demo_cmds import _promote_passing
    from andon.evals.build import build_report, feature_for_run
    from andon.evals.summarize import Conversion

    write_workspace(tmp_path)
    with opened(tmp_path, database_url) as ws:

        def report(run_id: str) -> Any:
            run = ws.store.get_run(run_id)
            feature = feature_for_run(run, ws.config.features["listing"])
            return build_report(ws.store, run, feature, Conversion("KRW", {}), with_provenance=False)

        failed = report(evaluate(ws, "bad"))
        assert "nothing is live" in _promote_passing(ws, "listing", failed)
        assert deploy.live_version(ws, "listing").version_id is None
        both = report(evaluate(ws, "good", "bad"))
        assert "good" in _promote_passing(ws, "listing", both)
        record = ws.store.latest_live("listing")
        assert record is not None and record.version_name == "good" and not record.forced


def test_a_refusal_shows_labelled_criteria_as_written(tmp_path: Path, database_url: str) -> None:
    write_workspace(tmp_path, criteria="recall[reject] >= 0.99")
    with opened(tmp_path, database_url) as ws:
        evaluate(ws, "bad")  # always approves: recall of reject is 0
    refused = andon("promote", "listing", "bad", cwd=tmp_path, database_url=database_url)
    assert refused.returncode == 1 and "recall[reject] >= 0.99: measured 0" in refused.stderr, refused.stderr
