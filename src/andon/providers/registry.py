"""Provider types by name: the built-ins, plus any plugin registered under the ``andon.providers`` entry point."""

from __future__ import annotations

import importlib
from importlib.metadata import EntryPoint, entry_points
from typing import cast

from andon.config.schema import ProviderConfig
from andon.errors import ConfigError
from andon.providers.base import Provider, ProviderFactory
from andon.providers.resilience import ResilientProvider

GROUP = "andon.providers"

# Resolved even when andon runs from a source tree without installed metadata; a plugin cannot
# take over a built-in name.
BUILTINS: dict[str, str] = {
    "openai": "andon.providers.openai:OpenAIProvider",
    "anthropic": "andon.providers.anthropic:AnthropicProvider",
    "local": "andon.providers.local:LocalProvider",
    "python": "andon.providers.python:PythonProvider",
}


def _plugins() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP) if ep.name not in BUILTINS}


def known_types() -> list[str]:
    """Every provider type name that can be used as ``type:``."""
    return sorted({*BUILTINS, *_plugins()})


def provider_class(type_name: str, *, where: str | None = None) -> ProviderFactory:
    """The class (or factory) registered for ``type_name``; unknown or broken ones are ConfigErrors."""
    target = BUILTINS.get(type_name)
    plugin = None if target is not None else _plugins().get(type_name)
    if target is None and plugin is None:
        raise ConfigError(
            f"unknown provider type {type_name!r}; known types: {', '.join(known_types())}",
            where=where,
            hint="use one of the known types, or install the package that registers this one",
        )
    try:
        if plugin is not None:
            factory = plugin.load()
        else:
            module_name, _, attr = cast(str, target).partition(":")
            factory = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:
        extra = " (pip install 'andon[local]')" if type_name == "local" else ""
        raise ConfigError(
            f"provider type {type_name!r} could not be loaded: {type(exc).__name__}: {exc}",
            where=where,
            hint=f"install what it needs{extra}",
        ) from exc
    return cast(ProviderFactory, factory)


def build_provider(name: str, config: ProviderConfig) -> Provider:
    """A ready provider for ``providers.<name>``: concurrency-limited, and retried unless it is Python code."""
    factory = provider_class(config.type, where=f"providers.{name}.type")
    inner = factory(name, config)
    if config.type == "python":
        # Rule checks are deterministic code: a retry would only repeat the same exception.
        config = config.model_copy(update={"max_retries": 0})
    return ResilientProvider(inner, config)
