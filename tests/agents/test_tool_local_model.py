"""Tool calling on the embedded model: the reply grammar and its reading (no model), then a real tool round trip."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.schema import Params
from andon.engine.pipeline import run_version
from andon.providers.base import Message, TextPart
from andon.providers.local_tools import chat_with_tools, read_reply, reply_schema
from andon.workspace import Workspace

ORDER = {"type": "object", "properties": {"order_id": {"type": "string", "maxLength": 8}}, "required": ["order_id"]}
TOOLS = (
    {"type": "function", "function": {"name": "lookup_order", "description": "Find an order", "parameters": ORDER}},
)
TOOLS_MODULE = """\
CALLS = []


def lookup_order(order_id):
    CALLS.append(order_id)
    return {"order_id": order_id, "status": "shipped", "eta": "tomorrow"}
"""


def reply(content: str, finish: str = "stop") -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}]}


def test_the_reply_schema_allows_a_call_of_a_listed_tool_with_valid_arguments_or_an_answer() -> None:
    schema = reply_schema(TOOLS, Params())
    check = jsonschema.Draft202012Validator(schema)
    assert check.is_valid({"tool": "lookup_order", "arguments": {"order_id": "A1"}})
    assert check.is_valid({"answer": "A1 has shipped."})
    assert not check.is_valid({"tool": "refund", "arguments": {"order_id": "A1"}})  # not a listed tool
    assert not check.is_valid({"tool": "lookup_order", "arguments": {"order_id": 5}})  # the tool's own schema
    assert not check.is_valid({"answer": "x", "tool": "lookup_order"})
    shaped = jsonschema.Draft202012Validator(reply_schema(TOOLS, Params(json_schema=ORDER)))
    assert shaped.is_valid({"answer": {"order_id": "A1"}}) and not shaped.is_valid({"answer": "A1"})


def test_the_schema_compiles_to_a_llama_grammar() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    grammar = llama_cpp.LlamaGrammar.from_json_schema(json.dumps(reply_schema(TOOLS, Params())), verbose=False)
    assert grammar is not None


def test_a_call_is_read_back_in_the_openai_shape_and_earlier_turns_are_written_as_plain_chat() -> None:
    earlier = (
        Message("system", (TextPart("Help buyers."),)),
        Message("user", (TextPart("Where is A1?"),)),
        Message(
            "assistant", (), tool_calls=({"id": "call_1", "function": {"name": "lookup_order", "arguments": "{}"}},)
        ),
        Message("tool", (TextPart('{"status": "shipped"}'),), tool_call_id="call_1"),
    )
    raw = reply('{"tool": "lookup_order", "arguments": {"order_id": "B2"}}')
    read_reply(raw, earlier, Params(), "local")
    (choice,) = raw["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"] == [
        {"id": "call_2", "type": "function", "function": {"name": "lookup_order", "arguments": '{"order_id": "B2"}'}}
    ]
    answer = reply('{"answer": "It has shipped."}')
    read_reply(answer, earlier, Params(), "local")
    assert answer["choices"][0]["message"]["content"] == "It has shipped."
    chat = chat_with_tools(earlier, [{"role": m.role, "content": m.text} for m in earlier], TOOLS)
    assert chat[0]["role"] == "system" and chat[0]["content"].startswith("Help buyers.")
    assert "lookup_order: Find an order" in chat[0]["content"]
    assert json.loads(chat[2]["content"]) == {"tool": "lookup_order", "arguments": {}}
    assert chat[3] == {"role": "user", "content": 'Result of the tool call call_1: {"status": "shipped"}'}


@given(
    name=st.sampled_from(["lookup_order", "refund", "a-b_c"]),
    arguments=st.dictionaries(st.text(max_size=8), st.text(max_size=12) | st.integers() | st.none(), max_size=4),
    earlier_calls=st.integers(min_value=0, max_value=5),
)
def test_any_call_the_grammar_allows_reads_back_as_the_same_call(
    name: str, arguments: dict[str, Any], earlier_calls: int
) -> None:
    call = {"id": "x", "type": "function", "function": {"name": "t", "arguments": "{}"}}
    earlier = tuple(Message("assistant", (), tool_calls=(call,)) for _ in range(earlier_calls))
    raw = reply(json.dumps({"tool": name, "arguments": arguments}))
    read_reply(raw, earlier, Params(), "local")
    (read,) = raw["choices"][0]["message"]["tool_calls"]
    assert read["function"]["name"] == name and json.loads(read["function"]["arguments"]) == arguments
    assert read["id"] == f"call_{earlier_calls + 1}"


@pytest.mark.local_model
@pytest.mark.timeout(600)
def test_the_embedded_model_calls_a_tool_and_answers_from_its_result(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    (tmp_path / "local_shop.py").write_text(TOOLS_MODULE, encoding="utf-8")
    tool = {"name": "lookup_order", "description": "Find an order's shipping status by its id", "parameters": ORDER}
    tool["python"] = "local_shop:lookup_order"
    system = "You help buyers of a second-hand market. Look orders up with the tool before answering."
    step = {"name": "main", "provider": "local", "system": system, "prompt": "{{ input }}", "tools": [tool]}
    step["params"] = {"temperature": 0, "max_tokens": 80, "seed": 7}
    config = {
        "providers": {"local": {"type": "local", "model": "qwen2.5-coder-0.5b"}},
        "features": {"shop": {"versions": {"v1": {"steps": [step]}}}},
    }
    (tmp_path / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        with Workspace.open(tmp_path) as ws:

            async def once() -> Any:
                try:
                    return await run_version(ws.version("shop", "v1"), {"input": "Where is my order A1?"}, ws)
                finally:
                    await ws.aclose_providers()

            outcome = asyncio.run(once())
        calls = sys.modules["local_shop"].CALLS
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("local_shop", None)
    assert outcome.status == "ok", outcome.error
    assert calls and calls[0] == "A1"  # the grammar made a well-formed call with the tool's own argument
    (record,) = outcome.steps
    assert (record.tools or [])[0]["name"] == "lookup_order" and (record.tools or [])[0]["error"] is None
    assert [m["role"] for m in record.messages][:4] == ["system", "user", "assistant", "tool"]
    assert outcome.output_text and not outcome.output_text.lstrip().startswith("{")  # an answer, not a call
