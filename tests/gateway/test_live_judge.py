"""The live judge: a feature's llm-rubric grades a sample of served answers; `judge_score` monitors read the scores.

Real gateway, store (SQLite and PostgreSQL) and two loopback stubs: one answers as the feature's model (echo),
one as the judge (scripted replies).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from bench.stub import Scripted, StubServer
from tests.support.gateway_server import promote_declared

from andon.cli.trace_cmds import _live_judge_lines
from andon.config.live_judge import LIVE_ERROR_TAG, LIVE_TAG
from andon.config.loader import load_config
from andon.errors import ConfigError
from andon.gateway.auth import DEV_IDENTITY
from andon.gateway.http_errors import ApiError
from andon.gateway.service import Gateway
from andon.gateway.types import Caller
from andon.store.models import utcnow
from andon.watch.monitors import build_monitors
from andon.watch.sources import trace_metric
from andon.workspace import Workspace

CONFIG = """\
name: live-judge-test
providers:
  writer: {{type: openai, base_url: "{writer}", api_key: sk-test-0123456789abcdef, model: w, max_retries: 0}}
  judge: {{type: openai, base_url: "{judge}", api_key: sk-test-0123456789abcdef, model: j, max_retries: 0}}
features:
  reply:
    graders:
      - {{type: llm-rubric, judge: judge, rubric: "Does the reply apologise?", name: polite}}
    versions:
      v1: {{provider: writer, prompt: "Complaint: {{{{ complaint }}}}"}}
    serve:
      judge: {{grader: polite, sample: {sample}}}
      routing: {{fallback: "off"}}
"""
CALLER = Caller(api_key_id="key_1", user_id="u-1", tags={"app": "test"})


def verdict(score: int) -> Scripted:
    return Scripted(content=json.dumps({"reason": f"scored {score}", "score": score}))


@pytest.fixture
async def stubs() -> AsyncIterator[tuple[StubServer, StubServer]]:
    async with StubServer(echo=True) as writer, StubServer() as judge:
        yield writer, judge


async def open_gateway(
    tmp_path: Path, database_url: str, stubs: tuple[StubServer, StubServer], sample: float
) -> Gateway:
    writer, judge = stubs
    text = CONFIG.format(writer=writer.base_url, judge=judge.base_url, sample=sample)
    (tmp_path / "andon.yaml").write_text(text, encoding="utf-8")
    promote_declared(tmp_path, database_url)
    gateway = Gateway(Workspace.open(tmp_path, database_url=database_url), prune_interval_s=None)
    await gateway.start()
    return gateway


async def close(gateway: Gateway) -> None:
    await gateway.stop()
    await gateway.ws.aclose_providers()
    gateway.ws.store.close()


async def test_sampled_answers_are_judged_and_a_failed_judgement_is_no_score(
    tmp_path: Path, database_url: str, stubs: tuple[StubServer, StubServer]
) -> None:
    _, judge = stubs
    judge.program(verdict(8), verdict(3), Scripted(content="I would rather not say"))
    gateway = await open_gateway(tmp_path, database_url, stubs, 1.0)
    try:
        started = utcnow() - timedelta(minutes=1)
        ids = []
        for complaint in ("배송이 늦어요", "파손되었어요", "환불해 주세요"):
            result = await gateway.invoke("reply", {"complaint": complaint}, CALLER)
            assert result.status == "ok"
            await gateway.live_judge.settle()  # one at a time, so the scripted verdicts meet these answers in order
            ids.append(result.trace_id)
        tags = [gateway.ws.store.get_trace(i)["tags"] for i in ids]
        assert [t.get(LIVE_TAG) for t in tags] == [{"polite": 0.8}, {"polite": 0.3}, None]
        assert "polite" in tags[2][LIVE_ERROR_TAG]  # the unreadable reply is kept as a reason, not scored 0
        assert all(t["app"] == "test" for t in tags)  # the caller's own tags stay
        judged = [r for r in judge.received if "Complaint:" in json.dumps(r.body, ensure_ascii=False)]
        assert len(judged) == 3  # the judge saw each served answer
        measured = trace_metric(
            gateway.ws.store, "reply", "judge_score", started, utcnow() + timedelta(minutes=1), grader="polite"
        )
        assert measured.calls == 2 and measured.value == pytest.approx(0.55)
    finally:
        await close(gateway)


async def test_nothing_is_judged_off_the_sample_or_off_the_ai_route(
    tmp_path: Path, database_url: str, stubs: tuple[StubServer, StubServer]
) -> None:
    writer, judge = stubs
    gateway = await open_gateway(tmp_path, database_url, stubs, 0.000001)
    try:
        result = await gateway.invoke("reply", {"complaint": "x"}, CALLER)
        await gateway.live_judge.settle()
        assert LIVE_TAG not in gateway.ws.store.get_trace(result.trace_id)["tags"]
        assert judge.received == []
    finally:
        await close(gateway)
    gateway = await open_gateway(tmp_path, database_url, stubs, 1.0)
    try:
        writer.program(Scripted(status=500), Scripted(status=500))
        failed = await gateway.invoke("reply", {"complaint": "y"}, CALLER)
        await gateway.live_judge.settle()
        assert failed.status == "error"
        assert judge.received == []  # an error is not an answer to judge
    finally:
        await close(gateway)


def test_callers_may_not_set_the_live_judges_tag() -> None:
    with pytest.raises(ApiError) as raised:
        DEV_IDENTITY.caller(tags={LIVE_TAG: {"polite": 1.0}})
    assert LIVE_TAG in str(raised.value)
    assert DEV_IDENTITY.caller(tags={"app": "x"}).tags == {"app": "x"}


def test_a_live_judge_must_name_one_of_the_features_graders(tmp_path: Path) -> None:
    path = tmp_path / "andon.yaml"
    path.write_text(CONFIG.format(writer="http://127.0.0.1:1/v1", judge="http://127.0.0.1:1/v1", sample=0.5).replace(
        "grader: polite", "grader: polit"
    ), encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    text = str(raised.value)
    assert "serve.judge.grader" in text and "'polite'" in text  # names the field and suggests the grader


MONITOR = """
monitors:
  politeness:
    feature: reply
    metric: judge_score
    source: {source}
    interval: 1m
    window: 10m
    detector: {{type: threshold, fail_below: 0.5}}
"""


def test_a_judge_score_monitor_reads_a_grader_or_a_path(tmp_path: Path) -> None:
    path = tmp_path / "andon.yaml"
    base = CONFIG.format(writer="http://127.0.0.1:1/v1", judge="http://127.0.0.1:1/v1", sample=0.5)
    path.write_text(base + MONITOR.format(source="{grader: polite}"), encoding="utf-8")
    monitors = build_monitors(load_config(path).config, path=path)  # detector settings checked as the watcher does
    assert monitors["politeness"].config.source.grader == "polite"
    path.write_text(base + MONITOR.format(source="{type: traces}"), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert "source.grader" in str(raised.value)


def test_a_monitor_of_live_scores_needs_the_features_live_judge(tmp_path: Path) -> None:
    path = tmp_path / "andon.yaml"
    base = CONFIG.format(writer="http://127.0.0.1:1/v1", judge="http://127.0.0.1:1/v1", sample=0.5)
    path.write_text(base.replace("      judge: {grader: polite, sample: 0.5}\n", "") + MONITOR.format(
        source="{grader: polite}"
    ), encoding="utf-8")  # fmt: skip
    loaded = load_config(path)
    with pytest.raises(ConfigError) as raised:
        build_monitors(loaded.config, path=path)
    assert raised.value.where == f"{path}:18:14"  # the monitor's source.grader
    assert "serve.judge" in raised.value.message


def test_traces_show_prints_the_live_judges_score_and_its_failures() -> None:
    tags = {LIVE_TAG: {"polite": 0.8, "odd": "x"}, LIVE_ERROR_TAG: {"strict": "judge reply was not JSON"}, "app": "t"}
    assert _live_judge_lines(tags) == [
        "live judge: polite 0.80",
        "live judge: strict could not grade: judge reply was not JSON",
    ]
    assert _live_judge_lines({"app": "t"}) == []
