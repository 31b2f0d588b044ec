"""The llm-rubric grader with real judges: the OpenAI-compatible stub server, and once the embedded local model."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from andon.config.schema import GraderSpec, Params, ProviderConfig
from andon.embeddings import Embedder, default_embedder
from andon.errors import AndonError
from andon.evals.graders import GraderContext, JudgeReply, OfflineServices, build_grader, run_grader
from andon.evals.graders.rubric import JUDGE_SCHEMA, JUDGE_SYSTEM, read_verdict
from andon.evals.model import Case, Grade
from andon.providers.base import Message, Provider, ProviderRequest, TextPart
from andon.providers.openai import OpenAIProvider
from andon.store.records import new_id

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.stub import Scripted, StubServer

CASE = Case(id="m1", vars={"menu_name": "김치찌개"}, expected=None)
RUBRIC = "The output describes {{ menu_name }} as a food, politely, with no phone number or advertising."
GOOD = "김치찌개 — 국내산 돼지고기와 묵은지로 끓인 얼큰한 찌개"


class ProviderJudges:
    """Judges are providers by name; each call gets an output id, as the runner would store it.

    ``keep_failures`` mimics a runner that stores a failed judge call and reports it in the reply.
    """

    def __init__(self, providers: dict[str, Provider], *, max_tokens: int | None = None, keep_failures: bool = False):
        self.providers = providers
        self.max_tokens = max_tokens
        self.keep_failures = keep_failures
        self.calls: list[tuple[str, str | None, str]] = []  # judge, model, output id

    def embedder(self) -> Embedder:
        return default_embedder()

    async def judge(
        self, judge: str, model: str | None, system: str, prompt: str, schema: dict[str, Any]
    ) -> JudgeReply:
        messages = (Message("system", (TextPart(system),)), Message("user", (TextPart(prompt),)))
        params = Params(temperature=0, json_schema=schema, max_tokens=self.max_tokens)
        output_id = new_id("out")
        self.calls.append((judge, model, output_id))
        try:
            response = await self.providers[judge].complete(ProviderRequest(model or "", messages, params))
        except AndonError as exc:
            if not self.keep_failures:
                raise
            return JudgeReply(None, "", output_id, error=exc.message)
        return JudgeReply(response.parsed, response.text, output_id)


@pytest.fixture
async def stub() -> AsyncIterator[StubServer]:
    async with StubServer() as server:
        yield server


@pytest.fixture
async def remote(stub: StubServer) -> AsyncIterator[OpenAIProvider]:
    config = ProviderConfig(
        type="openai", base_url=stub.base_url, api_key=SecretStr("sk-test"), model="judge-default", max_retries=0
    )
    provider = OpenAIProvider("remote", config)
    yield provider
    await provider.aclose()


async def rubric(services: Any, output: str | None = GOOD, *, kind: str = "llm-rubric", **spec: Any) -> Grade:
    settings: dict[str, Any] = {"type": kind, "judge": "remote", "rubric": RUBRIC, **spec}
    gs = GraderSpec.model_validate(settings)
    return await run_grader(gs, build_grader(gs), GraderContext(CASE, output, services=services, **_status(output)))


def _status(output: str | None) -> dict[str, Any]:
    return {} if output is not None else {"status": "error", "error": "provider 'x': timed out"}


async def test_judge_verdict_is_normalised_with_its_provenance(stub: StubServer, remote: OpenAIProvider) -> None:
    stub.program(Scripted(content='{"reason": "정상적인 메뉴 설명입니다", "score": 8}'))
    judges = ProviderJudges({"remote": remote})
    result = await rubric(judges, model="judge-model")
    assert result.passed and result.score == pytest.approx(0.8)
    assert result.reason == "judge 8/10: 정상적인 메뉴 설명입니다"
    assert result.judge_output_id == judges.calls[0][2]
    assert judges.calls[0][:2] == ("remote", "judge-model")
    body = stub.received[0].body
    assert body["model"] == "judge-model"
    assert body["response_format"]["json_schema"]["schema"] == JUDGE_SCHEMA
    system, user = body["messages"]
    assert system == {"role": "system", "content": JUDGE_SYSTEM}
    # The rubric is rendered over the case, and the output follows it.
    assert "describes 김치찌개 as a food" in user["content"]
    assert user["content"].endswith(f"<output>\n{GOOD}\n</output>")


async def test_threshold_decides_the_pass(stub: StubServer, remote: OpenAIProvider) -> None:
    judges = ProviderJudges({"remote": remote})
    stub.program(
        Scripted(content='{"reason": "애매함", "score": 6}'), Scripted(content='{"reason": "애매함", "score": 6}')
    )
    low = await rubric(judges)
    assert not low.passed and low.score == pytest.approx(0.6)
    assert (await rubric(judges, threshold=0.6)).passed


async def test_a_prose_reply_fails_the_grade_without_crashing(stub: StubServer, remote: OpenAIProvider) -> None:
    stub.program(Scripted(content="I think this output is pretty good, 9 out of 10!"))
    result = await rubric(ProviderJudges({"remote": remote}))
    assert not result.passed and result.score == 0.0
    assert result.reason is not None and result.reason.startswith("the judge 'remote' failed:")
    assert "not valid JSON" in result.reason


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"reason": "great", "score": 42}', "the judge's score 42 is not a number from 0 to 10"),
        ('{"reason": "great", "score": "many"}', "the judge's score 'many' is not a number from 0 to 10"),
        ('{"reason": "no score at all"}', 'the judge\'s reply has no "score"'),
        ("[8, 9]", 'the judge\'s reply has no "score"'),
    ],
)
async def test_malformed_verdicts_fail_and_keep_the_judge_output(
    stub: StubServer, remote: OpenAIProvider, content: str, message: str
) -> None:
    stub.program(Scripted(content=content), Scripted(content=content))
    judges = ProviderJudges({"remote": remote})
    result = await rubric(judges)
    assert not result.passed and result.reason is not None and result.reason.startswith(message)
    assert result.judge_output_id == judges.calls[0][2]
    # Negation cannot turn a broken verdict into a pass.
    assert not (await rubric(judges, kind="not-llm-rubric")).passed


async def test_a_failed_call_the_runner_stored_keeps_its_id(stub: StubServer, remote: OpenAIProvider) -> None:
    stub.program(Scripted(status=500))
    judges = ProviderJudges({"remote": remote}, keep_failures=True)
    result = await rubric(judges)
    assert not result.passed and "HTTP 500" in (result.reason or "")
    assert result.judge_output_id == judges.calls[0][2]


async def test_negated_rubric_inverts_a_good_verdict(stub: StubServer, remote: OpenAIProvider) -> None:
    stub.program(Scripted(content='{"reason": "광고 문구가 있습니다", "score": 2}'))
    result = await rubric(ProviderJudges({"remote": remote}), kind="not-llm-rubric")
    assert result.passed and result.score == pytest.approx(0.8)
    assert result.reason == "not: judge 2/10: 광고 문구가 있습니다"


async def test_no_judge_call_for_an_error_output_or_a_broken_rubric(stub: StubServer, remote: OpenAIProvider) -> None:
    judges = ProviderJudges({"remote": remote})
    errored = await rubric(judges, None)
    assert not errored.passed and errored.reason == "provider 'x': timed out"
    broken = await rubric(judges, rubric="Mentions {{ missing_var }}")
    assert not broken.passed and "cannot render the rubric" in (broken.reason or "")
    assert judges.calls == [] and stub.received == []


async def test_offline_services_have_no_judge() -> None:
    result = await rubric(OfflineServices())
    assert not result.passed and "no judge is available" in (result.reason or "")


def test_read_verdict_accepts_text_fenced_json_and_numeric_strings() -> None:
    assert read_verdict(JudgeReply(None, '```json\n{"score": 7, "reason": " ok "}\n```')) == (7, "ok")
    assert read_verdict(JudgeReply({"score": "9"}, "")) == (9, "")
    assert read_verdict(JudgeReply({"score": 7.5, "reason": "half"}, "")) == (7.5, "half")


# --- the embedded local model as a judge --------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private cache folder, so the test joins the packaged weights without touching ~/.cache."""
    pytest.importorskip("llama_cpp")
    from andon.providers.local import unload_models

    folder = tmp_path_factory.mktemp("andon-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANDON_CACHE_DIR", str(folder))
        yield folder
    unload_models()


@pytest.mark.local_model
async def test_the_local_model_judges_within_the_schema(model_cache: Path) -> None:
    """The mechanics only: the 0.5B model reads rubrics poorly (it scored a spam menu 9/10), so no quality claim."""
    from andon.providers.local import LocalProvider

    local = LocalProvider("local", ProviderConfig(type="local"))
    judges = ProviderJudges({"remote": local}, max_tokens=160)
    try:
        result = await rubric(judges, GOOD)
    finally:
        await local.aclose()
    # Constrained decoding gives a readable verdict: a whole score out of 10 and a reason, within max_tokens.
    assert result.reason is not None and result.reason.startswith("judge "), result.reason
    assert len(result.reason) > len("judge 8/10: ")
    assert result.judge_output_id == judges.calls[0][2]
    assert 0 <= result.score <= 1 and result.score * 10 == pytest.approx(round(result.score * 10))
    assert result.passed is (result.score >= 0.7)
