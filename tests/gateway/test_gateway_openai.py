"""The OpenAI-compatible endpoint through the official `openai` client, streaming included, on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from tests.support.gateway_server import GatewayServer, StubProcess, write_workspace

from andon.gateway.auth import create_key
from andon.gateway.openai_compat import split_for_stream
from andon.store import Store
from andon.store.models import TraceRow

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[tuple[openai.OpenAI, str]]:
    """An OpenAI client whose base URL is the gateway (auth on, an invoke key), and the database URL."""
    with Store.open(database_url) as store:
        _record, secret = create_key(store, "openai-app", ["invoke"], None)
    with StubProcess(echo=True) as stub:
        ws = write_workspace(tmp_path / "ws", stub_url=stub.base_url)
        with GatewayServer(ws, database_url=database_url) as server:
            http = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=secret, max_retries=0, timeout=30)
            yield http, database_url
            http.close()


def stored_trace(url: str, trace_id: str) -> TraceRow:
    with Store.open(url) as store, store.engine.connect() as conn:
        row: TraceRow = conn.execute(select(TraceRow).where(TraceRow.id == trace_id)).one()
    return row


def test_feature_models_answer_through_the_openai_client(client: tuple[openai.OpenAI, str]) -> None:
    http, url = client
    raw = http.chat.completions.with_raw_response.create(
        model="feature:echo",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": '{"text": "json vars"}'}],
        user="user-7",
    )
    completion = raw.parse()
    trace_id = raw.headers["x-andon-trace-id"]
    assert completion.id == f"chatcmpl-{trace_id}"
    # A JSON-object user message is the variables themselves.
    assert json.loads(completion.choices[0].message.content or "") == {"echo": "JSON VARS", "variables": ["text"]}
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    row = stored_trace(url, trace_id)
    assert (row.feature, row.user_id, row.status) == ("echo", "user-7", "ok")

    plain = http.chat.completions.create(model="feature:echo", messages=[{"role": "user", "content": "plain words"}])
    # Other text becomes {"input": text, "messages": [...]}.
    assert json.loads(plain.choices[0].message.content or "") == {
        "echo": "PLAIN WORDS",
        "variables": ["input", "messages"],
    }

    stream = http.chat.completions.create(
        model="feature:echo", messages=[{"role": "user", "content": "stream me " * 20}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert json.loads(text)["echo"] == "STREAM ME " * 20
    assert len(chunks) > 3  # really in pieces
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None
    assert len({c.id for c in chunks}) == 1


def test_provider_models_and_streaming_usage(client: tuple[openai.OpenAI, str]) -> None:
    http, url = client
    raw = http.chat.completions.with_raw_response.create(
        model="stub/stub-model", messages=[{"role": "user", "content": "echo this back"}], temperature=0
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo this back"
    assert completion.usage is not None and completion.usage.prompt_tokens > 0
    row = stored_trace(url, raw.headers["x-andon-trace-id"])
    assert (row.provider, row.model, row.status) == ("stub", "stub-model", "ok")

    # A bare provider name means its default model.
    bare = http.chat.completions.create(model="stub", messages=[{"role": "user", "content": "bare name"}])
    assert bare.choices[0].message.content == "bare name"

    stream = http.chat.completions.create(
        model="stub/stub-model",
        messages=[{"role": "user", "content": "one two three four five six seven eight nine ten " * 8}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four five six seven eight nine ten " * 8
    assert chunks[-1].choices == []  # as OpenAI: usage alone in the last chunk when asked for
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0

    models = {m.id for m in http.models.list()}
    assert {"feature:echo", "feature:chat", "stub/stub-model"} <= models


def test_a_stopped_feature_answers_202_with_its_review_item(client: tuple[openai.OpenAI, str]) -> None:
    http, url = client
    with Store.open(url) as store:
        store.record_feature_event("echo", "stopped", {}, actor="oncall", reason="bad answers")
    raw = http.chat.completions.with_raw_response.create(
        model="feature:echo", messages=[{"role": "user", "content": "anyone there?"}]
    )
    assert raw.http_response.status_code == 202  # accepted: a human will answer
    completion = raw.parse()
    assert completion.choices[0].message.content is None
    extension = raw.http_response.json()["andon"]
    assert (extension["route"], extension["status"]) == ("human", "queued")
    with Store.open(url) as store:
        item = store.get_review_item(extension["review_id"])
    assert (item["trace_id"], item["reason"]) == (raw.headers["x-andon-trace-id"], "stopped")


def test_openai_client_sees_errors_in_its_own_shape(client: tuple[openai.OpenAI, str]) -> None:
    http, _url = client
    with pytest.raises(openai.NotFoundError) as missing:
        http.chat.completions.create(model="gpt-nothing", messages=[{"role": "user", "content": "x"}])
    assert missing.value.code == "not_found"
    with pytest.raises(openai.NotFoundError):
        http.chat.completions.create(model="feature:nope", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError) as bad:
        http.chat.completions.create(model="feature:echo", messages=[])
    assert bad.value.code == "invalid_request"
    with pytest.raises(openai.BadRequestError):
        http.chat.completions.create(model="feature:echo", messages=[{"role": "assistant", "content": "no user"}])
    with pytest.raises(openai.APIStatusError) as broken:
        http.chat.completions.create(model="feature:broken", messages=[{"role": "user", "content": "x"}])
    assert broken.value.status_code >= 500
    assert broken.value.response.headers["x-should-retry"] == "false"
    assert isinstance(broken.value.body, dict)
    assert broken.value.response.headers["x-andon-trace-id"] == broken.value.body["trace_id"]

    wrong_key = openai.OpenAI(base_url=str(http.base_url), api_key="andon_sk_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        wrong_key.chat.completions.create(model="feature:echo", messages=[{"role": "user", "content": "x"}])
    assert refused.value.code == "unauthorized"
    wrong_key.close()


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300), st.integers(min_value=1, max_value=64))
def test_stream_pieces_join_back_exactly(text: str, size: int) -> None:
    pieces = split_for_stream(text, size)
    assert "".join(pieces) == text
    assert all(pieces)
    # A piece is over the size only when it is one word with its leading whitespace.
    for piece in pieces:
        assert len(piece) <= size or len(piece.split()) <= 1
