"""Providers in andon.yaml: the fields every provider has, each built-in type's own ``options``, and the union.

A plugin provider declares its own ``Options`` (a ``TypedDict`` or a pydantic model) on its class; the loader
validates its ``options:`` against it when andon.yaml is loaded, with file:line errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    SecretStr,
    StrictInt,
    TypeAdapter,
    ValidationError,
    with_config,
)
from typing_extensions import TypedDict

from andon.config.tagged import by_type, plugin_tag
from andon.errors import ConfigError
from andon.extensions import PROVIDERS
from andon.messages import t
from andon.plugins import Registry

TAG_PREFIX = "provider="  # pydantic puts a union's tag into error locations; the loader drops it

GROUP = PROVIDERS.group  # as andon.extensions lists it

# Resolved even when andon runs from a source tree without installed metadata; a plugin cannot
# take over a built-in name. The loader resolves only plugin names here, never these.
BUILTINS: dict[str, str] = {
    "openai": "andon.providers.openai:OpenAIProvider",
    "anthropic": "andon.providers.anthropic:AnthropicProvider",
    "local": "andon.providers.local:LocalProvider",
    "python": "andon.providers.python:PythonProvider",
}

REGISTRY = Registry(GROUP, PROVIDERS.kind, BUILTINS)

HeaderValue = str | int | float


@with_config(ConfigDict(extra="allow"))
class OpenAIOptions(TypedDict, total=False):
    """``options`` of an openai(-compatible) provider; other keys are kept and count in the endpoint's identity."""

    headers: dict[str, HeaderValue]
    extra_body: dict[str, Any]
    max_tokens_field: str
    strict_schema: bool


@with_config(ConfigDict(extra="forbid"))
class AnthropicOptions(TypedDict, total=False):
    """``options`` of an anthropic provider."""

    headers: dict[str, HeaderValue]
    anthropic_version: str
    max_tokens: Annotated[int, Field(ge=1)]


@with_config(ConfigDict(extra="forbid"))
class LocalOptions(TypedDict, total=False):
    """``options`` of the embedded local model."""

    n_ctx: Annotated[StrictInt, Field(ge=1)]
    n_threads: Annotated[StrictInt, Field(ge=1)]
    n_batch: Annotated[StrictInt, Field(ge=1)]
    model_path: str
    sha256: str


@with_config(ConfigDict(extra="forbid"))
class PythonOptions(TypedDict, total=False):
    """``options`` of a python provider."""

    function: str


class ProviderConfig(BaseModel):
    """How to reach one provider; secrets come from ``${ENV}`` and never reach the store.

    ``options`` are checked against the type's own options when andon.yaml is loaded, and again by the
    provider itself (so a config built in Python is checked too).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="openai, anthropic, local, python, or a plugin's entry-point name.")
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = Field(default=None, description="Default model for steps that name none.")
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=20)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    concurrency: int = Field(default=8, ge=1, le=10_000)
    rate_per_s: float | None = Field(
        default=None, gt=0, description="At most this many calls started per second (the provider's quota)."
    )
    options: Mapping[str, Any] = Field(default_factory=dict, description="Provider-specific settings.")


class OpenAIConfig(ProviderConfig):
    """An OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp server, Ollama, TGI …)."""

    type: Literal["openai"]
    options: OpenAIOptions = Field(default_factory=lambda: OpenAIOptions())


class AnthropicConfig(ProviderConfig):
    """Claude models through the Messages API."""

    type: Literal["anthropic"]
    options: AnthropicOptions = Field(default_factory=lambda: AnthropicOptions())


class LocalConfig(ProviderConfig):
    """The embedded GGUF model, run in this process."""

    type: Literal["local"]
    options: LocalOptions = Field(default_factory=lambda: LocalOptions())


class PythonConfig(ProviderConfig):
    """Plain Python functions (rule checks)."""

    type: Literal["python"]
    options: PythonOptions = Field(default_factory=lambda: PythonOptions())


BUILTIN_OPTIONS: dict[str, Any] = {
    "openai": OpenAIOptions,
    "anthropic": AnthropicOptions,
    "local": LocalOptions,
    "python": PythonOptions,
}
BUILTIN_CONFIGS: dict[str, type[ProviderConfig]] = {
    "openai": OpenAIConfig,
    "anthropic": AnthropicConfig,
    "local": LocalConfig,
    "python": PythonConfig,
}
PLUGIN_TAG = plugin_tag(TAG_PREFIX)
_BY_TYPE = by_type(TAG_PREFIX, BUILTIN_CONFIGS, ProviderConfig)

# Typed as the base for code that reads a provider; validated (and shown by `andon schema`) as the union.
ProviderEntry = Annotated[ProviderConfig, GetPydanticSchema(lambda _source, handler: handler(_BY_TYPE))]


def options_model(cls: object) -> Any:
    """The options a provider class declares (``Options``), or None when it declares none."""
    return getattr(cls, "Options", None)


def check_options(model: Any, name: str, config: ProviderConfig) -> Any:
    """``config.options`` validated against ``model``; the first problem is a ConfigError naming the option."""
    try:
        return TypeAdapter(model).validate_python(dict(config.options))
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"])
        where = f"providers.{name}.options" + (f".{key}" if key else "")
        if error["type"] == "extra_forbidden":
            known = ", ".join(sorted(getattr(model, "__annotations__", {}))) or t("house2.none")
            raise ConfigError(
                t("house2.provider.unknown_option", option=error["loc"][-1], type=config.type),
                where=where,
                hint=t("house2.provider.known_options", known=known),
            ) from None
        raise ConfigError(
            t("house2.provider.bad_option", msg=error["msg"], value=error["input"]), where=where
        ) from None
