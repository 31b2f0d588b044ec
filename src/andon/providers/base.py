"""The provider protocol: one async call from rendered messages to a reply with usage and timing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from andon.config.schema import Params, ProviderConfig


@dataclass(frozen=True, slots=True)
class TextPart:
    """Plain text inside a message."""

    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image inside a message: a ``data:`` URL (local files) or an http(s) URL."""

    url: str
    type: Literal["image"] = "image"


Part = TextPart | ImagePart


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message; ``content`` keeps text and images in order."""

    role: Literal["system", "user", "assistant", "tool"]
    content: tuple[Part, ...]
    tool_calls: tuple[dict[str, Any], ...] = ()  # an assistant's calls, OpenAI-shaped: {id, type, function}
    tool_call_id: str | None = None  # a tool message: the call it answers

    @property
    def text(self) -> str:
        """All text parts joined (images left out)."""
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    def to_json(self) -> dict[str, Any]:
        """Canonical JSON form, used for provenance and cache keys."""
        parts: list[dict[str, str]] = []
        for p in self.content:
            parts.append(
                {"type": "text", "text": p.text} if isinstance(p, TextPart) else {"type": "image", "url": p.url}
            )
        tools = {"tool_calls": list(self.tool_calls)} if self.tool_calls else {}
        answers = {"tool_call_id": self.tool_call_id} if self.tool_call_id is not None else {}
        return {"role": self.role, "content": parts, **tools, **answers}  # old messages keep their form (cache keys)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        """Inverse of :meth:`to_json`."""
        parts: list[Part] = []
        for p in data["content"]:
            parts.append(TextPart(p["text"]) if p["type"] == "text" else ImagePart(p["url"]))
        return cls(
            role=data["role"],
            content=tuple(parts),
            tool_calls=tuple(data.get("tool_calls") or ()),
            tool_call_id=data.get("tool_call_id"),
        )


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    """Everything a provider needs for one call.

    ``variables`` carries the case variables (and earlier steps' outputs) for ``python`` providers;
    model providers use ``messages``.
    """

    model: str
    messages: tuple[Message, ...]
    params: Params = field(default_factory=Params)
    variables: dict[str, Any] = field(default_factory=dict)
    tools: tuple[dict[str, Any], ...] = ()  # tool definitions, OpenAI-shaped: {type: function, function: {...}}


@dataclass(slots=True)
class ProviderResponse:
    """One reply. ``parsed`` is set when JSON was asked for; ``raw`` keeps the wire reply."""

    text: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    parsed: Any = None
    finish_reason: str | None = None
    raw: Any = None
    cost: float | None = None
    currency: str | None = None
    attempts: int = 1
    cached: bool = False
    finished: bool = False  # a python rule check that ends the pipeline with its own verdict
    logprobs: list[dict[str, Any]] | None = None  # per output token: token, logprob, bytes (params.logprobs)


@runtime_checkable
class Provider(Protocol):
    """Something that answers a call. Implementations must be safe to call concurrently."""

    name: str

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        """Answer one request or raise :class:`andon.errors.ProviderError`."""
        ...

    async def aclose(self) -> None:
        """Release connections, threads or models."""
        ...


class ProviderFactory(Protocol):
    """What the registry instantiates: a class taking the provider's name and config."""

    def __call__(self, name: str, config: ProviderConfig) -> Provider: ...
