"""The improvement loop end to end against the loopback stub: failures of the learning split → a revised prompt →
a stored candidate version judged on the judging split only → the paired comparison; consent honoured."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bench.stub import Scripted
from tests.support.improve_fixtures import FEATURE, andon, case_text, write_improve_workspace
from tests.support.threaded_stub import ThreadedStub

from andon.errors import NotFoundError, ProviderError
from andon.evals.evaluate import evaluate
from andon.evals.improve import Improvement, aimprove
from andon.evals.splits import Split
from andon.store.records import ReviewItem, TraceRecord
from andon.workspace import Workspace

pytestmark = pytest.mark.timeout(300)

BETTER = {"system": "규칙 판정을 그대로 답하세요.", "prompt": "{{ rule }}", "rationale": "v1 approves everything."}
WORSE = {"system": "", "prompt": "reject {{ text }}", "rationale": "Say reject."}


@pytest.fixture
def stub() -> Iterator[ThreadedStub]:
    with ThreadedStub(echo=True) as server:
        yield server


def _improve_requests(stub: ThreadedStub) -> list[str]:
    """The bodies of the requests that asked for a revised prompt (the only ones with a system of our own)."""
    bodies = [json.dumps(r.body, ensure_ascii=False) for r in stub.received]
    return [b for b in bodies if "You improve the prompt of an AI feature" in b]


def _improve(ws: Workspace, **options: Any) -> Improvement:
    return asyncio.run(aimprove(ws, FEATURE, "v1", **options))


def _ids_in(side: str, count: int, prefix: str) -> list[str]:
    """``count`` case ids with ``prefix`` that the default split puts on ``side``."""
    split, found, n = Split(), [], 0
    while len(found) < count:
        n += 1
        if split.side(f"{prefix}{n}") == side:
            found.append(f"{prefix}{n}")
    return found


def test_the_loop_learns_from_the_learning_split_and_judges_on_the_other(
    tmp_path: Path, stub: ThreadedStub, database_url: str
) -> None:
    root = write_improve_workspace(tmp_path / "ws", stub.base_url)
    with Workspace.open(root, database_url=database_url) as ws:
        source = evaluate(FEATURE, workspace=ws)
        assert source.summaries[0].metrics["pass_rate"].value == pytest.approx(10 / 40)
        stub.program(Scripted(content=json.dumps(BETTER, ensure_ascii=False)))
        result = _improve(ws)

        assert result.status == "compared" and result.better
        learn, judge = set(result.learn_ids), set(result.judge_ids)
        assert learn and judge and not learn & judge and len(learn | judge) == 40
        # What the model saw: failed learning cases, and not one judging case.
        (request,) = _improve_requests(stub)
        assert set(result.failed_ids) <= learn and result.failed_ids
        assert "maxLength" not in request  # a hosted provider's strict schema mode refuses it
        for case_id in result.failed_ids:
            assert case_text(case_id) in request
        for case_id in judge:
            assert case_text(case_id) not in request
        # The candidate: a stored version with the proposed prompt, its id content-addressed.
        candidate = result.candidate
        assert candidate is not None and candidate.steps[0].prompt == "{{ rule }}"
        assert ws.store.get_version(FEATURE, candidate.name).id == candidate.id
        assert ws.version(FEATURE, candidate.name).id == candidate.id
        # Evaluated on the judging split only, base and candidate paired, the split recorded with the run.
        assert result.run_id is not None
        run = ws.store.get_run(result.run_id)
        assert {c["id"] for c in ws.store.run_cases(run.id)} == judge
        assert [vid for _, vid in run.versions] == [result.base.id, candidate.id]
        recorded = run.config["improve"]
        assert recorded["split"]["salt"] == Split().salt and set(recorded["split"]["learn_ids"]) == learn
        assert recorded["proposal_output_id"] == result.proposal_output_id
        comparison = result.comparison
        assert comparison is not None and comparison.verdict == "better"
        assert comparison.n_pairs == len(judge) and {f.case_id for f in comparison.flipped} <= judge
        assert all(f.change == "fixed" for f in comparison.flipped)
        # The proposal's own call is stored with its provenance.
        output = ws.store.get_output(result.proposal_output_id or "")
        assert output.context["role"] == "improve" and output.context["source_run"] == source.run.id
        assert "{{ rule }}" in (output.output_text or "")
        snippet = result.snippet()
    # The printed snippet, pasted into andon.yaml, declares the very same version.
    config = json.loads((root / "andon.yaml").read_text(encoding="utf-8"))
    (root / "andon.yaml").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    from ruamel.yaml import YAML

    pasted = YAML(typ="safe").load(snippet)
    config["features"][FEATURE]["versions"].update(pasted["features"][FEATURE]["versions"])
    (root / "andon.yaml").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    with Workspace.open(root, database_url=database_url) as ws:
        assert ws.version(FEATURE, candidate.name).id == candidate.id
        assert candidate.name in ws.config.features[FEATURE].versions


def test_a_worse_candidate_is_reported_as_not_better_in_english_and_korean(tmp_path: Path, stub: ThreadedStub) -> None:
    root = write_improve_workspace(tmp_path / "ws", stub.base_url)
    with Workspace.open(root) as ws:
        evaluate(FEATURE, workspace=ws)
    stub.program(Scripted(content=json.dumps(WORSE)))
    shown = andon("improve", FEATURE, "v1", cwd=root)
    assert shown.returncode == 0, shown.stderr
    assert "The candidate is not better than v1" in shown.stdout
    assert "To try it anyway, its andon.yaml entry:" in shown.stdout and "reject {{ text }}" in shown.stdout
    assert "learning and" in shown.stdout and "judged on the judging split only" in shown.stdout
    stub.program(Scripted(content=json.dumps(WORSE | {"prompt": "reject: {{ text }}"})))
    as_json = andon("improve", FEATURE, "v1", "--json", cwd=root)
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["status"] == "compared" and data["better"] is False and data["verdict"] != "better"
    stub.program(Scripted(content=json.dumps(WORSE | {"prompt": "reject; {{ text }}"})))
    korean = andon("--lang", "ko", "improve", FEATURE, "v1", cwd=root)
    assert korean.returncode == 0, korean.stderr
    assert "v1보다 낫지 않습니다" in korean.stdout and "v1을 유지하세요" in korean.stdout
    assert "평가 분할에서만 평가했습니다" in korean.stdout
    missing = andon("--lang", "ko", "improve", FEATURE, "v9", cwd=root)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_a_refused_users_case_never_reaches_the_model(tmp_path: Path, stub: ThreadedStub, database_url: str) -> None:
    refused, agreed, gone = _ids_in("learn", 3, "rev_consent")
    extra = [
        {"id": case_id, "vars": {"text": case_text(case_id), "rule": "reject"}, "label": "reject",
         "tags": ["from-review", "policy"]}
        for case_id in (refused, agreed, gone)
    ]  # fmt: skip
    root = write_improve_workspace(tmp_path / "ws", stub.base_url, extra)
    with Workspace.open(root, database_url=database_url) as ws:
        now = datetime.now(UTC)
        for case_id, user in ((refused, "u-refused"), (agreed, "u-agreed")):
            trace = TraceRecord(
                id=f"trc_{case_id}", feature=FEATURE, route="invoke", status="ok", input_mode="full",
                input={"text": case_text(case_id)}, input_hash="h", created_at=now, user_id=user,
            )  # fmt: skip
            item = ReviewItem(id=case_id, feature=FEATURE, reason="policy", trace_id=trace.id, input=trace.input)
            ws.store.save_traces([trace], review_items=[item])
        # The refusing user let their inputs become test cases, but not improve the feature.
        ws.store.set_consent("user", "u-refused", cases=True, improve=False)
        ws.store.set_consent("user", "u-agreed", cases=True, improve=True)
        evaluate(FEATURE, workspace=ws)
        stub.program(Scripted(content=json.dumps(BETTER, ensure_ascii=False)))
        result = _improve(ws)
    (request,) = _improve_requests(stub)
    assert case_text(refused) not in request and case_text(gone) not in request
    assert case_text(agreed) in request
    assert set(result.withheld_ids) == {refused, gone}
    assert refused not in result.failed_ids and agreed in result.failed_ids


def test_nothing_is_asked_when_no_learning_case_failed(tmp_path: Path, stub: ThreadedStub) -> None:
    root = write_improve_workspace(tmp_path / "ws", stub.base_url)
    config = json.loads((root / "andon.yaml").read_text(encoding="utf-8"))
    config["features"][FEATURE]["versions"]["v2"] = {"provider": "stub", "prompt": "{{ rule }}"}
    (root / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    with Workspace.open(root) as ws:
        evaluate(FEATURE, workspace=ws, versions=["v2"])
        result = asyncio.run(aimprove(ws, FEATURE, "v2"))
        assert result.status == "nothing_to_learn" and result.candidate is None
        assert not _improve_requests(stub)
        with pytest.raises(NotFoundError, match="no run of 'moderate' evaluated version 'v1'"):
            _improve(ws)


def test_a_proposal_with_an_unknown_variable_is_refused_and_not_stored(tmp_path: Path, stub: ThreadedStub) -> None:
    root = write_improve_workspace(tmp_path / "ws", stub.base_url)
    with Workspace.open(root) as ws:
        evaluate(FEATURE, workspace=ws)
        before = len(ws.store.list_versions(FEATURE))
        stub.program(Scripted(content=json.dumps({"system": "", "prompt": "{{ photo }}", "rationale": "r"})))
        with pytest.raises(ProviderError, match="photo"):
            _improve(ws)
        assert len(ws.store.list_versions(FEATURE)) == before


def test_a_masked_feature_masks_the_cases_in_the_improvement_request(tmp_path: Path, stub: ThreadedStub) -> None:
    (phone_case,) = _ids_in("learn", 1, "p")
    extra = [{"id": phone_case, "vars": {"text": "연락은 010-2345-6789로", "rule": "reject"}, "label": "reject"}]
    root = write_improve_workspace(tmp_path / "ws", stub.base_url, extra)
    config = json.loads((root / "andon.yaml").read_text(encoding="utf-8"))
    config["features"][FEATURE]["serve"] = {"data_use": {"send": "masked"}}
    (root / "andon.yaml").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    with Workspace.open(root) as ws:
        evaluate(FEATURE, workspace=ws)
        stub.program(Scripted(content=json.dumps(BETTER, ensure_ascii=False)))
        result = _improve(ws)
    (request,) = _improve_requests(stub)
    assert phone_case in result.failed_ids
    assert "010-2345-6789" not in request and "[PHONE_1]" in request


def test_the_embedded_models_proposal_is_bounded_to_fit_its_answer_budget() -> None:
    from andon.evals.ask import MAX_TOKENS
    from andon.evals.improve import PROPOSAL_SCHEMA, bounded_proposal_schema

    bounded = bounded_proposal_schema()
    limits = {name: field["maxLength"] for name, field in bounded["properties"].items()}
    assert set(limits) == set(PROPOSAL_SCHEMA["properties"]) and all(n > 0 for n in limits.values())
    assert sum(limits.values()) <= MAX_TOKENS - 200  # a character is at most about one token
    assert bounded["required"] == PROPOSAL_SCHEMA["required"] and "maxLength" not in json.dumps(PROPOSAL_SCHEMA)
    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    unbounded = llama_grammar.json_schema_to_gbnf(json.dumps(PROPOSAL_SCHEMA))
    gbnf = llama_grammar.json_schema_to_gbnf(json.dumps(bounded))
    assert "char*" in unbounded and "char*" not in gbnf  # the grammar itself stops each field at its bound
    assert gbnf.count("char (") == sum(limits.values()) - len(limits)  # one optional char per allowed char
