"""The groundedness grader (an LLM judge on the loopback stub, kappa-gated like llm-rubric) and the citations
grader (no model: each citation must name a retrieved chunk)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from andon.config.schema import FeatureConfig, GraderSpec, Params, ProviderConfig
from andon.embeddings import Embedder, default_embedder
from andon.evals.graders import GraderContext, JudgeReply, build_grader, run_grader
from andon.evals.graders.rubric import JUDGE_SCHEMA
from andon.evals.model import Case, CellResult, Grade
from andon.evals.summarize import Conversion, summarize_version
from andon.providers.base import Message, ProviderRequest, TextPart
from andon.providers.openai import OpenAIProvider

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.stub import Scripted, StubServer

CHUNKS = (
    {"id": "a1b2c3d4e5f60718", "source": "docs/refund.md", "section": ["환불"], "citation": "refund.md › 환불",
     "text": "구매 후 7일 이내에 환불을 요청할 수 있습니다."},
    {"id": "ffee001122334455", "source": "docs/ship.md", "section": ["배송"], "citation": "ship.md › 배송",
     "text": "제주 지역은 배송이 나흘 걸립니다."},
)  # fmt: skip
CASE = Case(id="c1", vars={"q": "환불 기간"}, relevant=("refund.md",))


class Judges:
    """Judges by provider name, each call given an id, as the runner's services would."""

    def __init__(self, provider: OpenAIProvider) -> None:
        self.provider = provider
        self.calls = 0

    def embedder(self) -> Embedder:
        return default_embedder()

    async def judge(
        self, judge: str, model: str | None, system: str, prompt: str, schema: dict[str, Any]
    ) -> JudgeReply:
        self.calls += 1
        messages = (Message("system", (TextPart(system),)), Message("user", (TextPart(prompt),)))
        response = await self.provider.complete(ProviderRequest(model or "", messages, Params(json_schema=schema)))
        return JudgeReply(response.parsed, response.text, f"out-{self.calls}")


@pytest.fixture
async def stub() -> AsyncIterator[StubServer]:
    async with StubServer() as server:
        yield server


@pytest.fixture
async def judges(stub: StubServer) -> AsyncIterator[Judges]:
    config = ProviderConfig(type="openai", base_url=stub.base_url, api_key=SecretStr("sk-t"), model="j", max_retries=0)
    provider = OpenAIProvider("remote", config)
    yield Judges(provider)
    await provider.aclose()


async def grade(spec: dict[str, Any], output: str, services: Any = None, chunks: Any = CHUNKS) -> Grade:
    gs = GraderSpec.model_validate(spec)
    extra = {"services": services} if services is not None else {}
    return await run_grader(gs, build_grader(gs), GraderContext(CASE, output, chunks=chunks, **extra))


async def test_groundedness_shows_the_judge_the_passages_and_reads_its_score(stub: StubServer, judges: Judges) -> None:
    stub.program(Scripted(content='{"reason": "배송 기간은 구절에 없음", "score": 4}'))
    spec = {"type": "groundedness", "judge": "remote", "rubric": "답은 {{ q }}에 관한 것이어야 한다."}
    result = await grade(spec, "7일 이내에 환불되며 배송은 하루 걸립니다.", judges)
    assert not result.passed and result.score == pytest.approx(0.4)  # below the 0.7 default threshold
    assert result.judge_output_id == "out-1" and result.reason == "judge 4/10: 배송 기간은 구절에 없음"
    body = stub.received[0].body
    assert body["response_format"]["json_schema"]["schema"] == JUDGE_SCHEMA
    prompt = body["messages"][1]["content"]
    assert "every factual claim" in prompt and "답은 환불 기간에 관한 것이어야 한다." in prompt
    assert "[1] refund.md › 환불\n구매 후 7일 이내에" in prompt and "[2] ship.md › 배송\n제주 지역은" in prompt
    assert prompt.endswith("<output>\n7일 이내에 환불되며 배송은 하루 걸립니다.\n</output>")


async def test_groundedness_without_a_retrieve_step_is_a_grading_error(judges: Judges) -> None:
    result = await grade({"type": "groundedness", "judge": "remote"}, "x", judges, chunks=None)
    assert result.error and "no retrieve step" in (result.reason or "")
    assert judges.calls == 0


def test_groundedness_needs_a_judge() -> None:
    with pytest.raises(ValidationError, match="groundedness grader needs `judge:`"):
        FeatureConfig.model_validate({"graders": [{"type": "groundedness"}]})


def test_groundedness_is_kappa_gated_like_llm_rubric() -> None:
    spec = GraderSpec(type="groundedness", name="grounded", judge="remote", min_kappa=0.6)
    config = FeatureConfig(graders=[spec])
    cases = {f"c{i}": Case(id=f"c{i}", vars={}, human={"grounded": "pass" if i % 2 else "fail"}) for i in range(24)}
    # The judge passes every answer: no agreement beyond chance with the people who labelled them.
    cells = [
        CellResult(run_id="r", version_id="v", version_name="v", case_id=f"c{i}", repeat=0, output_id=None,
                   status="ok", score=1.0, passed=True, grades=[Grade("grounded", 1.0, True)])
        for i in range(24)
    ]  # fmt: skip
    summary = summarize_version("v", "v", cells, cases, config, Conversion("USD", {}))
    (judge,) = summary.judges
    assert judge.grader == "grounded" and judge.n == 24 and judge.status == "untrusted"
    assert not summary.gate_passed and "kappa" in summary.gate_errors[0]


@pytest.mark.parametrize(
    ("output", "score", "passed", "reason"),
    [
        ("7일 이내입니다 [1].", 1.0, True, "all 1 citations name a retrieved chunk"),
        ("7일 이내입니다 [1][3].", 0.5, False, "1 of 2 citations name no right chunk: [3]"),
        ("refund.md › 환불 에 따르면 7일입니다 (a1b2c3d4).", 1.0, True, "all 2 citations name a retrieved chunk"),
        ("근거: deadbeef00", 0.0, False, "1 of 1 citations name no right chunk: deadbeef00"),
        ("7일 이내입니다.", 0.0, False, "the answer cites no retrieved chunk"),
    ],
)
async def test_citations(output: str, score: float, passed: bool, reason: str) -> None:
    result = await grade({"type": "citations"}, output)
    assert (result.score, result.passed, result.reason) == (score, passed, reason)


async def test_citations_against_relevant_and_optional() -> None:
    wrong = await grade({"type": "citations", "against": "relevant"}, "나흘 걸립니다 [2], 7일 [1]")
    assert not wrong.passed and wrong.score == 0.5 and wrong.reason == "1 of 2 citations name no right chunk: [2]"
    assert (await grade({"type": "citations", "required": False}, "출처 없음")).passed
