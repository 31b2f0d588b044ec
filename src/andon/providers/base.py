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

    role: Literal["system", "user", "assistant"]
    content: tuple[Part, ...]

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
        return {"role": self.role, "content": parts}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        """Inverse of :meth:`to_json`."""
        parts: list[Part] = []
        for p in data["content"]:
            parts.append(TextPart(p["text"]) if p["type"] == "text" else ImagePart(p["url"]))
        return cls(role=data["role"], content=tuple(parts))


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
