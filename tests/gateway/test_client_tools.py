"""The caller's own tools on provider models through the `openai` client: ask, tool calls, tool results, answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from bench.stub import Scripted
from sqlalchemy import select
from tests.support.gateway_server import GatewayServer, workspace_config, write_workspace
from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply

from andon.gateway.auth import create_key
from andon.store import Store
from andon.store.models import OutputRow, TraceRow

pytestmark = pytest.mark.timeout(300)

WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
TIME: Any = {"type": "function", "function": {"name": "local_time", "parameters": {"type": "object", "properties": {}}}}
ASK: Any = [{"role": "system", "content": "Use the tools."}, {"role": "user", "content": "Weather in Seoul and Busan?"}]


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[openai.OpenAI, ThreadedStub, str]]:
    """The gateway (``andon serve``) with an openai provider ``stub`` and an anthropic one ``claude`` on the stub."""
    with Store.open(database_url) as store:
        _record, secret = create_key(store, "tool-app", ["invoke"], None)
    with ThreadedStub(echo=True) as stub:
        ws = write_workspace(tmp_path / "ws", stub_url=stub.base_url)
        config = workspace_config(stub_url=stub.base_url)
        config["providers"]["claude"] = {
            "type": "anthropic",
            "base_url": stub.base_url,
            "api_key": "sk-ant-stub",
            "model": "claude-stub",
            "max_retries": 0,
        }
        (ws / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
        with GatewayServer(ws, database_url=database_url) as server:
            http = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=secret, max_retries=0, timeout=60)
            yield http, stub, database_url
            http.close()


def provenance(url: str, trace_id: str) -> tuple[TraceRow, OutputRow]:
    with Store.open(url) as store, store.engine.connect() as conn:
        row: TraceRow = conn.execute(select(TraceRow).where(TraceRow.id == trace_id)).one()
        output: OutputRow = conn.execute(select(OutputRow).where(OutputRow.id == row.output_id)).one()
    return row, output


def run_tool(name: str, arguments: str) -> str:
    """The client's own tool (it runs in the test, never in andon)."""
    city = json.loads(arguments)["city"]
    return json.dumps({"city": city, "sky": "sunny" if city == "Seoul" else "rain"})


def test_a_full_client_side_tool_loop_non_streamed(served: tuple[openai.OpenAI, ThreadedStub, str]) -> None:
    http, stub, url = served
    stub.program(
        tool_calls_reply(
            tool_call("call_1", "get_weather", {"city": "Seoul"}), tool_call("call_2", "get_weather", {"city": "Busan"})
        ),
        Scripted(content="Seoul is sunny; Busan has rain."),
    )
    raw = http.chat.completions.with_raw_response.create(
        model="stub/stub-model",
        messages=ASK,
        tools=[WEATHER, TIME],
        tool_choice="auto",
        parallel_tool_calls=True,
    )
    first = raw.parse()
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("call_1", "get_weather", {"city": "Seoul"}),
        ("call_2", "get_weather", {"city": "Busan"}),
    ]
    assert first.usage is not None and first.usage.completion_tokens == 3
    sent = stub.received[0].body
    assert sent["tools"] == [WEATHER, TIME]
    assert (sent["tool_choice"], sent["parallel_tool_calls"]) == ("auto", True)

    # The client runs its tools and sends the results back with the assistant's calls.
    history: list[Any] = [*ASK, choice.message.model_dump(exclude_none=True)]
    history += [
        {"role": "tool", "tool_call_id": c.id, "content": run_tool(c.function.name, c.function.arguments)}
        for c in calls
    ]
    final_raw = http.chat.completions.with_raw_response.create(
        model="stub/stub-model", messages=history, tools=[WEATHER]
    )
    final = final_raw.parse()
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content == "Seoul is sunny; Busan has rain."
    assert not final.choices[0].message.tool_calls
    second = stub.received[1].body["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "tool", "tool"]
    assert [c["id"] for c in second[2]["tool_calls"]] == ["call_1", "call_2"]
    assert second[3] == {"role": "tool", "content": '{"city": "Seoul", "sky": "sunny"}', "tool_call_id": "call_1"}

    # Provenance: the tools offered, every message exactly, and the calls the model asked for.
    row, output = provenance(url, raw.headers["x-andon-trace-id"])
    assert (row.feature, row.status, row.provider) == ("@stub", "ok", "stub")
    assert output.params["client_tools"] == [WEATHER, TIME]
    assert row.output_json == {"tool_calls": [c.model_dump() for c in calls]}
    row, output = provenance(url, final_raw.headers["x-andon-trace-id"])
    assert [m["role"] for m in output.messages] == ["system", "user", "assistant", "tool", "tool"]
    assert output.messages[2]["tool_calls"] == [c.model_dump() for c in calls]
    assert output.messages[4]["tool_call_id"] == "call_2"
    assert row.output_text == "Seoul is sunny; Busan has rain."


def test_tool_calls_stream_as_openai_streams_them(served: tuple[openai.OpenAI, ThreadedStub, str]) -> None:
    http, stub, _url = served
    long_city = "Seoul Special City, Jongno-gu, Sejong-daero 175 (the old city hall)"
    stub.program(
        tool_calls_reply(tool_call("call_a", "get_weather", {"city": long_city, "unit": "c"}), content="Checking.")
    )
    stream = http.chat.completions.create(
        model="stub/stub-model",
        messages=ASK,
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    pieces = [call for d in deltas for call in d.tool_calls or []]
    assert pieces[0].id == "call_a" and pieces[0].function is not None and pieces[0].function.name == "get_weather"
    assert all(p.id is None for p in pieces[1:]) and len(pieces) > 2  # the arguments came in several chunks
    arguments = "".join((p.function.arguments or "") if p.function else "" for p in pieces)
    assert json.loads(arguments) == {"city": long_city, "unit": "c"}
    assert "".join(d.content or "" for d in deltas) == "Checking."
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals == ["tool_calls"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert stub.received[0].body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}

    # The client's own stream helper assembles the call (name and arguments equal), then the loop ends streamed.
    stub.program(
        tool_calls_reply(tool_call("call_b", "get_weather", {"city": long_city})),
        Scripted(content="It is sunny there today and tomorrow, with a light breeze from the west."),
    )
    with http.beta.chat.completions.stream(model="stub/stub-model", messages=ASK, tools=[WEATHER]) as helper:
        completion = helper.get_final_completion()
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls"
    (call,) = message.tool_calls or []
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "call_b",
        "get_weather",
        {"city": long_city},
    )
    history: list[Any] = [
        *ASK,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump(exclude_none=True)]},
    ]
    history.append(
        {"role": "tool", "tool_call_id": "call_b", "content": run_tool("get_weather", call.function.arguments)}
    )
    answer = http.chat.completions.create(model="stub/stub-model", messages=history, tools=[WEATHER], stream=True)
    answer_chunks = list(answer)
    text = "".join(c.choices[0].delta.content or "" for c in answer_chunks if c.choices)
    assert text == "It is sunny there today and tomorrow, with a light breeze from the west."
    assert not any(c.choices[0].delta.tool_calls for c in answer_chunks if c.choices)
    assert answer_chunks[-1].choices[0].finish_reason == "stop"


def test_the_anthropic_provider_maps_tools_and_tool_use(served: tuple[openai.OpenAI, ThreadedStub, str]) -> None:
    http, stub, url = served
    blocks = [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Seoul"}},
    ]
    reply = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-stub", "content": blocks}
    reply |= {"stop_reason": "tool_use", "usage": {"input_tokens": 12, "output_tokens": 7}}
    stub.program(Scripted(body=reply))
    raw = http.chat.completions.with_raw_response.create(
        model="claude/claude-stub",
        messages=ASK,
        tools=[WEATHER],
        tool_choice="required",
        parallel_tool_calls=False,
    )
    first = raw.parse()
    assert first.choices[0].finish_reason == "tool_calls"
    assert first.choices[0].message.content == "Let me look."
    (call,) = first.choices[0].message.tool_calls or []
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "toolu_1",
        "get_weather",
        {"city": "Seoul"},
    )
    assert first.usage is not None and (first.usage.prompt_tokens, first.usage.completion_tokens) == (12, 7)
    sent = stub.received[0].body
    assert stub.received[0].path.endswith("/messages")
    assert sent["tools"] == [
        {
            "name": "get_weather",
            "description": "The weather in a city.",
            "input_schema": WEATHER["function"]["parameters"],
        }
    ]
    assert sent["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}

    history: list[Any] = [*ASK, first.choices[0].message.model_dump(exclude_none=True)]
    history.append({"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"})
    stream = http.chat.completions.create(model="claude/claude-stub", messages=history, tools=[WEATHER], stream=True)
    assert list(stream)[-1].choices[0].finish_reason == "stop"
    turns = stub.received[1].body["messages"]
    assert [m["role"] for m in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"] == [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Seoul"}},
    ]
    assert turns[2]["content"] == [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]
    assert stub.received[1].body["system"] == "Use the tools."
    _row, output = provenance(url, raw.headers["x-andon-trace-id"])
    assert output.params["tool_choice"] == "required" and output.params["parallel_tool_calls"] is False


def error_of(http: openai.OpenAI, **request: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(openai.APIStatusError) as caught:
        http.chat.completions.create(**{"model": "stub/stub-model", "messages": ASK, **request})
    return caught.value.status_code, caught.value.response.json()["error"]


def test_bad_tool_requests_are_400s_naming_the_field(served: tuple[openai.OpenAI, ThreadedStub, str]) -> None:
    http, stub, _url = served
    not_object = {"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}
    status, error = error_of(http, tools=[not_object])
    assert (status, error["code"]) == (400, "invalid_request")
    assert "tools.0.function.parameters" in error["message"] and "object" in error["message"]
    bad_schema = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "required": "city"}}}
    status, error = error_of(http, tools=[bad_schema])
    assert status == 400 and "tools.0.function.parameters" in error["message"] and "JSON Schema" in error["message"]
    status, error = error_of(http, tools=[{"type": "retrieval", "function": WEATHER["function"]}])
    assert status == 400 and "tools.0.type" in error["message"]
    status, error = error_of(http, tools=[{"type": "function", "function": {"name": "has space"}}])
    assert status == 400 and "tools.0.function.name" in error["message"]
    status, error = error_of(http, tools=[WEATHER, WEATHER])
    assert status == 400 and "tools[1]" in error["message"] and "get_weather" in error["message"]
    status, error = error_of(http, tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "nope"}})
    assert status == 400 and "tool_choice" in error["message"] and "nope" in error["message"]
    status, error = error_of(http, tool_choice="required")
    assert status == 400 and "tool_choice" in error["message"]
    status, error = error_of(http, tools=[WEATHER], response_format={"type": "json_object"})
    assert status == 400 and "response_format" in error["message"]

    # A feature's own tools run in andon: the caller's tools are refused there.
    status, error = error_of(http, model="feature:chat", tools=[WEATHER])
    assert status == 400 and "tools" in error["message"] and "inside andon" in error["message"]

    # A tool result must answer a call an earlier assistant message made.
    orphan = [*ASK, {"role": "tool", "tool_call_id": "call_x", "content": "sunny"}]
    status, error = error_of(http, messages=orphan, tools=[WEATHER])
    assert status == 400 and "messages[2].tool_call_id" in error["message"] and "call_x" in error["message"]
    asked = {"role": "assistant", "tool_calls": [tool_call("call_1", "get_weather", {"city": "Seoul"})]}
    wrong = [*ASK, asked, {"role": "tool", "tool_call_id": "call_2", "content": "sunny"}]
    status, error = error_of(http, messages=wrong, tools=[WEATHER])
    assert status == 400 and "messages[3].tool_call_id" in error["message"]
    malformed = [*ASK, {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f"}}]}]
    status, error = error_of(http, messages=malformed)
    assert status == 400 and "messages[2].tool_calls[0]" in error["message"]
    # A conversation reads an image path as a local file: a caller's images must be URLs.
    local_file = [*ASK, asked, {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]
    local_file.append({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "/etc/hostname"}}]})
    status, error = error_of(http, messages=local_file)
    assert status == 400 and "messages[4]" in error["message"] and "data:" in error["message"]
    assert stub.received == []  # nothing reached the model
