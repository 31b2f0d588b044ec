"""Provider types by name: the built-ins, plus any plugin registered under the ``andon.providers`` entry point."""

from __future__ import annotations

from typing import cast

from andon.config.providers import BUILTINS, GROUP, REGISTRY
from andon.config.schema import ProviderConfig
from andon.messages import t
from andon.providers.base import Provider, ProviderFactory
from andon.providers.resilience import ResilientProvider

__all__ = ["BUILTINS", "GROUP", "build_provider", "known_types", "provider_class"]


def known_types() -> list[str]:
    """Every provider type name that can be used as ``type:``."""
    return REGISTRY.names()


def provider_class(type_name: str, *, where: str | None = None) -> ProviderFactory:
    """The class (or factory) registered for ``type_name``; unknown or broken ones are ConfigErrors."""
    hint = t("house2.provider.install_local" if type_name == "local" else "house2.provider.install")
    return cast(ProviderFactory, REGISTRY.load(type_name, where=where, hint=hint))


def build_provider(name: str, config: ProviderConfig) -> Provider:
    """A ready provider for ``providers.<name>``: concurrency-limited, and retried unless it is Python code."""
    factory = provider_class(config.type, where=f"providers.{name}.type")
    inner = factory(name, config)
    if config.type == "python":
        # Rule checks are deterministic code: a retry would only repeat the same exception.
        config = config.model_copy(update={"max_retries": 0})
    return ResilientProvider(inner, config)
