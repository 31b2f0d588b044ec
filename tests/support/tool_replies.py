"""OpenAI-shaped chat completion replies that call tools, for programming the loopback stub (bench/stub.py)."""

from __future__ import annotations

import json
from typing import Any

from bench.stub import Scripted


def tool_call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    """One tool call; ``arguments`` that are not text are sent as JSON (text is sent as is, malformed or not)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}


def tool_calls_reply(*calls: dict[str, Any], content: str | None = None, tokens: int = 10) -> Scripted:
    """A completion whose assistant message asks for ``calls`` (finish_reason ``tool_calls``)."""
    message = {"role": "assistant", "content": content, "tool_calls": list(calls)}
    body = {
        "id": "chatcmpl-tools",
        "object": "chat.completion",
        "created": 0,
        "model": "stub-model",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": tokens, "completion_tokens": 3, "total_tokens": tokens + 3},
    }
    return Scripted(body=body)
