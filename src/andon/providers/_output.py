"""Reading a reply as JSON when JSON was asked for; a bad reply is a MalformedReply, never a crash."""

from __future__ import annotations

import json
import re
from typing import Any

from andon.config.schema import Params
from andon.errors import MalformedReply
from andon.messages import t
from andon.providers.base import ProviderRequest, ProviderResponse

# Models often wrap JSON in a Markdown fence even when told not to; accept exactly one such fence.
_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n(.*?)\n?\s*```\s*$", re.DOTALL)


def wants_json(params: Params) -> bool:
    """True when the parameters ask for JSON output (a schema or plain JSON mode)."""
    return params.json_mode or params.json_schema is not None


def parse_json_text(text: str, *, provider: str, where: str | None = None) -> Any:
    """Parse ``text`` as JSON (a single Markdown fence is tolerated) or raise MalformedReply keeping it."""
    fenced = _FENCE.match(text)
    try:
        return json.loads(fenced.group(1) if fenced else text)
    except ValueError as exc:
        preview = text if len(text) <= 80 else text[:77] + "..."
        raise MalformedReply(
            t("house2.provider.reply_json", error=exc.args[0] if exc.args else exc, preview=preview),
            provider=provider,
            raw=text,
            where=where,
            hint=t("house2.provider.reply_json_hint"),
        ) from None


def build_response(
    request: ProviderRequest,
    *,
    text: str,
    model: str,
    input_tokens: int,
    output_tokens: int,
    latency_ms: float,
    finish_reason: str | None,
    raw: Any,
    provider: str,
    tool_calls: list[dict[str, Any]] | None = None,
) -> ProviderResponse:
    """A reply as andon keeps it, with the JSON parsed when the request asked for JSON.

    When the caller offered its own tools (``params.client_tools``) and the model called some, the parsed output is
    ``{"tool_calls": [...]}`` (OpenAI-shaped) for the caller to run.
    """
    response = ProviderResponse(
        text=text,
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_ms=latency_ms,
        finish_reason=finish_reason,
        raw=raw,
    )
    if request.params.client_tools and tool_calls:
        response.parsed = {"tool_calls": tool_calls}
    elif wants_json(request.params):
        response.parsed = parse_json_text(text, provider=provider)
    return response
