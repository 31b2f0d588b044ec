"""Anthropic's Messages API over httpx: top-level system, image blocks, required max_tokens."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import unquote_to_bytes

from andon.config.providers import AnthropicOptions, check_options
from andon.config.schema import ProviderConfig
from andon.errors import MalformedReply
from andon.messages import t
from andon.providers._http import JsonHttp, request_model
from andon.providers._output import build_response
from andon.providers.base import ImagePart, Message, ProviderRequest, ProviderResponse, TextPart

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024


def image_block(part: ImagePart) -> dict[str, Any]:
    """A ``data:`` URL becomes a base64 source block; an http(s) URL a url source block."""
    if not part.url.startswith("data:"):
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    header, _, payload = part.url[5:].partition(",")
    fields = header.split(";")
    media_type = fields[0] or "application/octet-stream"
    data = payload if "base64" in fields[1:] else base64.b64encode(unquote_to_bytes(payload)).decode("ascii")
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _arguments(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}  # the model's malformed arguments were answered with an error; the API needs an object
    return value if isinstance(value, dict) else {}


def message_json(message: Message) -> dict[str, Any]:
    """One message as Messages API content blocks (tool calls as tool_use, tool results as tool_result)."""
    if message.role == "tool":
        result = {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.text}
        return {"role": "user", "content": [result]}
    blocks: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            blocks.append({"type": "text", "text": part.text})
        else:
            blocks.append(image_block(part))
    for call in message.tool_calls:
        function = call.get("function") or {}
        use = {"type": "tool_use", "id": call.get("id"), "name": function.get("name")}
        blocks.append({**use, "input": _arguments(function.get("arguments"))})
    return {"role": message.role, "content": blocks}


def _merge_tool_results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive tool results go back in one user message, as the Messages API wants turns to alternate."""
    out: list[dict[str, Any]] = []
    for message in messages:
        results = all(b.get("type") == "tool_result" for b in message["content"])
        if (
            out
            and results
            and out[-1]["role"] == "user"
            and all(b.get("type") == "tool_result" for b in out[-1]["content"])
        ):
            out[-1] = {"role": "user", "content": [*out[-1]["content"], *message["content"]]}
        else:
            out.append(message)
    return out


def tool_json(definition: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-shaped tool definition as the Messages API takes it."""
    function = definition.get("function") or {}
    schema = function.get("parameters") or {"type": "object"}
    return {"name": function.get("name"), "description": function.get("description") or "", "input_schema": schema}


def tool_choice_json(choice: str | dict[str, Any] | None, parallel: bool | None) -> dict[str, Any] | None:
    """OpenAI's ``tool_choice`` and ``parallel_tool_calls`` as the Messages API's ``tool_choice``."""
    if choice is None and parallel is not False:
        return None
    if isinstance(choice, dict):
        function = choice.get("function") or {}
        out: dict[str, Any] = {"type": "tool", "name": function.get("name")}
    else:
        out = {"type": {"required": "any", "none": "none"}.get(choice or "auto", "auto")}
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def tool_uses(blocks: list[Any]) -> list[dict[str, Any]]:
    """The reply's tool_use blocks as OpenAI-shaped tool calls (arguments as JSON text)."""
    uses = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"]
    return [
        {
            "id": str(b.get("id") or f"call_{i}"),
            "type": "function",
            "function": {"name": str(b.get("name") or ""), "arguments": json.dumps(b.get("input"), ensure_ascii=False)},
        }
        for i, b in enumerate(uses)
    ]


class AnthropicProvider:
    """Claude models through the Messages API.

    ``options``: ``headers`` (extra HTTP headers), ``anthropic_version``, ``max_tokens`` (default 1024).
    """

    Options = AnthropicOptions

    def __init__(self, name: str, config: ProviderConfig) -> None:
        self.name = name
        self.config = config
        options: AnthropicOptions = check_options(AnthropicOptions, name, config)
        key = config.api_key.get_secret_value() if config.api_key else None
        headers = {"anthropic-version": options.get("anthropic_version", DEFAULT_VERSION)}
        if key:
            headers["x-api-key"] = key
        base_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        # Accept both https://api.anthropic.com and a base URL that already ends in /v1.
        self._path = "/messages" if base_url.endswith("/v1") else "/v1/messages"
        self._http = JsonHttp(name, base_url, config, headers, secret=key)
        self._max_tokens = options.get("max_tokens", DEFAULT_MAX_TOKENS)

    def payload(self, request: ProviderRequest) -> dict[str, Any]:
        """The JSON body sent for ``request``: system messages joined into the top-level field."""
        params = request.params
        body: dict[str, Any] = {
            "model": request_model(request, self.config, self.name),
            "max_tokens": params.max_tokens or self._max_tokens,
            "messages": _merge_tool_results([message_json(m) for m in request.messages if m.role != "system"]),
        }
        tools = [*request.tools, *(params.client_tools or ())]
        if tools:
            body["tools"] = [tool_json(d) for d in tools]
        choice = tool_choice_json(params.tool_choice, params.parallel_tool_calls)
        if choice is not None:
            body["tool_choice"] = choice
        system = "\n\n".join(m.text for m in request.messages if m.role == "system")
        if system:
            body["system"] = system
        if params.temperature is not None:
            body["temperature"] = params.temperature
        if params.top_p is not None:
            body["top_p"] = params.top_p
        if params.stop:
            body["stop_sequences"] = params.stop
        return body

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        """Send one Messages call and map its reply."""
        payload = self.payload(request)
        reply = await self._http.post(self._path, payload)
        data = reply.data
        blocks = data.get("content") if isinstance(data, dict) else None
        if not isinstance(blocks, list):
            raise MalformedReply(
                t("house2.provider.no_content"),
                provider=self.name,
                raw=str(data)[:2000],
            )
        text = "".join(b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str))
        usage = data.get("usage") or {}
        return build_response(
            request,
            text=text,
            model=str(data.get("model") or payload["model"]),
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            latency_ms=reply.latency_ms,
            finish_reason=data.get("stop_reason"),
            raw=data,
            provider=self.name,
            tool_calls=tool_uses(blocks),
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
