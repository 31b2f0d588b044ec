"""Any OpenAI-compatible chat completions endpoint (OpenAI, vLLM, llama.cpp server, Ollama, TGI …) over httpx."""

from __future__ import annotations

import json
from typing import Any

from andon.config.providers import OpenAIOptions, check_options
from andon.config.schema import Params, ProviderConfig
from andon.errors import MalformedReply
from andon.messages import t
from andon.providers._http import JsonHttp, request_model
from andon.providers._output import build_response
from andon.providers.base import Message, ProviderRequest, ProviderResponse, TextPart
from andon.providers.logprobs import from_openai_choice

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def message_json(message: Message) -> dict[str, Any]:
    """One message in OpenAI shape: a plain string when it is all text (widest server support), else parts."""
    if message.tool_calls or message.tool_call_id is not None:
        data: dict[str, Any] = {"role": message.role, "content": message.text or None}
        if message.tool_calls:
            data["tool_calls"] = list(message.tool_calls)
        if message.tool_call_id is not None:
            data["tool_call_id"] = message.tool_call_id
        return data
    if all(isinstance(p, TextPart) for p in message.content):
        return {"role": message.role, "content": message.text}
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        else:
            parts.append({"type": "image_url", "image_url": {"url": part.url}})
    return {"role": message.role, "content": parts}


def wire_calls(calls: Any) -> list[dict[str, Any]]:
    """A reply's tool calls in OpenAI's shape with text arguments (entries that are not calls left out)."""
    out: list[dict[str, Any]] = []
    for index, call in enumerate(calls if isinstance(calls, list) else []):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            continue
        arguments = function.get("arguments")
        text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
        name = str(function.get("name") or "")
        out.append(
            {
                "id": str(call.get("id") or f"call_{index}"),
                "type": "function",
                "function": {"name": name, "arguments": text},
            }
        )
    return out


def params_json(params: Params, *, strict_schema: bool = True) -> dict[str, Any]:
    """Sampling and output parameters as chat-completions fields (unset ones left out)."""
    out: dict[str, Any] = {}
    for key in ("temperature", "top_p", "max_tokens", "seed", "stop"):
        value = getattr(params, key)
        if value is not None:
            out[key] = value
    if params.json_schema is not None:
        schema = {"name": "output", "schema": params.json_schema, "strict": strict_schema}
        out["response_format"] = {"type": "json_schema", "json_schema": schema}
    elif params.json_mode:
        out["response_format"] = {"type": "json_object"}
    if params.logprobs:
        out["logprobs"] = True
    return out


class OpenAIProvider:
    """Chat completions with text and image parts, JSON modes, usage and timing.

    ``options``: ``headers`` (extra HTTP headers), ``extra_body`` (merged into every request),
    ``max_tokens_field`` (e.g. ``max_completion_tokens`` for newer OpenAI models), ``strict_schema``.
    """

    Options = OpenAIOptions

    def __init__(self, name: str, config: ProviderConfig) -> None:
        self.name = name
        self.config = config
        options: OpenAIOptions = check_options(OpenAIOptions, name, config)
        key = config.api_key.get_secret_value() if config.api_key else None
        headers = {"authorization": f"Bearer {key}"} if key else {}
        self._http = JsonHttp(name, config.base_url or DEFAULT_BASE_URL, config, headers, secret=key)
        self._extra_body: dict[str, Any] = options.get("extra_body") or {}
        self._max_tokens_field = options.get("max_tokens_field", "max_tokens")
        self._strict = options.get("strict_schema", True)

    def payload(self, request: ProviderRequest) -> dict[str, Any]:
        """The JSON body sent for ``request``."""
        body: dict[str, Any] = {
            "model": request_model(request, self.config, self.name),
            "messages": [message_json(m) for m in request.messages],
            **params_json(request.params, strict_schema=self._strict),
        }
        tools = [*request.tools, *(request.params.client_tools or ())]
        if tools:
            body["tools"] = tools
        if request.params.tool_choice is not None:
            body["tool_choice"] = request.params.tool_choice
        if request.params.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = request.params.parallel_tool_calls
        if self._max_tokens_field != "max_tokens" and "max_tokens" in body:
            body[self._max_tokens_field] = body.pop("max_tokens")
        body.update(self._extra_body)
        return body

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        """Send one chat completion and map its reply."""
        payload = self.payload(request)
        reply = await self._http.post("/chat/completions", payload)
        data = reply.data
        try:
            choice = data["choices"][0]
            message = choice.get("message") or {}
        except (KeyError, IndexError, TypeError, AttributeError):
            raise MalformedReply(
                t("house2.provider.no_choices"),
                provider=self.name,
                raw=str(data)[:2000],
            ) from None
        content, refusal = message.get("content"), message.get("refusal")
        # A refusal or a tool call carries no content; keep the refusal text when there is one.
        text = content if isinstance(content, str) else refusal if isinstance(refusal, str) else ""
        usage = data.get("usage") or {}
        response = build_response(
            request,
            text=text,
            model=str(data.get("model") or payload["model"]),
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            latency_ms=reply.latency_ms,
            finish_reason=choice.get("finish_reason"),
            raw=data,
            provider=self.name,
            tool_calls=wire_calls(message.get("tool_calls")),
        )
        if request.params.logprobs:
            response.logprobs = from_openai_choice(choice)
        return response

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
