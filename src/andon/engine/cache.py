"""The response cache: keyed by version, step, rendered input, parameters and repeat index."""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from andon.providers.base import Message, ProviderResponse
from andon.versions.canonical import canonical_json


class ResponseCache(Protocol):
    """Where finished provider replies are kept; the store implements it."""

    async def get(self, key: str) -> dict[str, Any] | None:
        """The cached reply for ``key``, or None."""
        ...

    async def put(self, key: str, value: dict[str, Any]) -> None:
        """Keep a successful reply."""
        ...


def cache_key(
    version_id: str,
    step: str,
    provider: str,
    model: str,
    messages: tuple[Message, ...],
    params: dict[str, Any],
    repeat: int,
) -> str:
    """sha256 over everything that shapes a reply; the repeat index keeps repeats independent samples."""
    payload = {
        "version": version_id,
        "step": step,
        "provider": provider,
        "model": model,
        "messages": [m.to_json() for m in messages],
        "params": params,
        "repeat": repeat,
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def response_to_cache(response: ProviderResponse) -> dict[str, Any]:
    """The fields of a reply worth keeping (the raw wire reply is left out to keep the cache small)."""
    return {
        "text": response.text,
        "model": response.model,
        "input_tokens": response.input_tokens,
        "output_tokens": response.output_tokens,
        "latency_ms": response.latency_ms,
        "parsed": response.parsed,
        "finish_reason": response.finish_reason,
        "cost": response.cost,
        "currency": response.currency,
        **({"logprobs": response.logprobs} if response.logprobs is not None else {}),
    }


def response_from_cache(value: dict[str, Any]) -> ProviderResponse:
    """Rebuild a reply from the cache, marked as cached."""
    return ProviderResponse(
        text=value["text"],
        model=value["model"],
        input_tokens=value.get("input_tokens", 0),
        output_tokens=value.get("output_tokens", 0),
        latency_ms=value.get("latency_ms", 0.0),
        parsed=value.get("parsed"),
        finish_reason=value.get("finish_reason"),
        cost=value.get("cost"),
        currency=value.get("currency"),
        cached=True,
        attempts=0,
        logprobs=value.get("logprobs"),
    )
