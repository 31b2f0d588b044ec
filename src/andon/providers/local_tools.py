"""Tool calling on the embedded model (issue 14): a JSON grammar lets it either answer or call one tool.

The model has no native tool format, so the request carries the tools as instructions and the reply is
constrained (llama.cpp grammar from a JSON Schema) to ``{"answer": …}`` or ``{"tool": NAME, "arguments": {…}}``,
with NAME one of the tools and the arguments shaped by that tool's own schema. A call comes back in the
OpenAI shape the tool loop reads; earlier calls and results are written into the chat as plain turns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from andon.config.schema import Params
from andon.errors import MalformedReply
from andon.messages import t
from andon.providers.base import Message

# Instructions to the model itself (not user-facing text, so not in the message catalogue).
_INSTRUCTIONS = (
    "You can call tools. Reply with one JSON object only: "
    '{{"tool": "<tool name>", "arguments": {{...}}}} to call a tool (its result comes back in the next message), '
    'or {{"answer": ...}} once you can answer. Call a tool whenever it can look up what the user asks about; '
    "never guess what a tool would return.\nTools:\n{tools}"
)


def reply_schema(tools: Sequence[dict[str, Any]], params: Params) -> dict[str, Any]:
    """The JSON Schema of a reply: an answer (shaped by ``params``' JSON settings) or a call of one of ``tools``."""
    answer: dict[str, Any] = params.json_schema or ({"type": "object"} if params.json_mode else {"type": "string"})
    branches: list[dict[str, Any]] = []
    for tool in tools:
        function = tool["function"]
        arguments = function.get("parameters") or {"type": "object"}
        branches.append(_object({"tool": {"const": function["name"]}, "arguments": arguments}))
    return {"anyOf": [*branches, _object({"answer": answer})]}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def chat_with_tools(
    messages: Sequence[Message], chat: list[dict[str, str]], tools: Sequence[dict[str, Any]]
) -> list[dict[str, str]]:
    """``chat`` (the messages as role and text) with the tools explained, and earlier calls and results as turns."""
    lines = []
    for tool in tools:
        function = tool["function"]
        schema = json.dumps(function.get("parameters") or {"type": "object"}, ensure_ascii=False)
        lines.append(f"- {function['name']}: {function.get('description') or ''} arguments: {schema}")
    out: list[dict[str, str]] = []
    for message, turn in zip(messages, chat, strict=True):
        if message.role == "assistant" and message.tool_calls:
            function = message.tool_calls[0].get("function") or {}
            arguments = json.loads(function.get("arguments") or "{}")
            turn = {"role": "assistant", "content": json.dumps({"tool": function.get("name"), "arguments": arguments})}
        elif message.role == "tool":
            turn = {"role": "user", "content": f"Result of the tool call {message.tool_call_id}: {message.text}"}
        out.append(turn)
    instructions = _INSTRUCTIONS.format(tools="\n".join(lines))
    if out and out[0]["role"] == "system":
        out[0] = {"role": "system", "content": f"{out[0]['content']}\n\n{instructions}"}
    else:
        out.insert(0, {"role": "system", "content": instructions})
    return out


def read_reply(reply: dict[str, Any], messages: Sequence[Message], params: Params, provider: str) -> None:
    """Rewrite the JSON ``reply`` in place: an answer becomes the message text, a call a ``tool_calls`` entry."""
    choice = reply["choices"][0]
    text = choice["message"].get("content") or ""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        cut = choice.get("finish_reason") == "length"
        raise MalformedReply(
            t("house2.local.cut_json" if cut else "house2.local.bad_json"),
            provider=provider,
            raw=text,
            hint=t("house2.local.cut_json_hint" if cut else "house2.local.bad_json_hint"),
        ) from exc
    if isinstance(value, dict) and "tool" in value:
        # Ids count the calls so far: the same conversation gives the same ids (provenance reads the same).
        number = sum(len(m.tool_calls) for m in messages) + 1
        arguments = json.dumps(value.get("arguments") or {}, ensure_ascii=False)
        call = {"id": f"call_{number}", "type": "function", "function": {"name": value["tool"], "arguments": arguments}}
        choice["message"] = {"role": "assistant", "content": None, "tool_calls": [call]}
        choice["finish_reason"] = "tool_calls"
        return
    answer = value.get("answer") if isinstance(value, dict) else value
    plain = isinstance(answer, str) and params.json_schema is None and not params.json_mode
    choice["message"] = {"role": "assistant", "content": answer if plain else json.dumps(answer, ensure_ascii=False)}
