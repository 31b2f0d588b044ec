"""andon: evaluate, serve and watch AI features — versioned prompts with provenance and an Andon cord.

The Python surface is what ``__all__`` lists: open a :class:`Workspace`, :func:`evaluate` a feature's
versions (each a :class:`Version`) on a :class:`Dataset`, and call a running gateway with :class:`Client` or
:class:`AsyncClient`. Every error a user can cause is an :class:`AndonError` (the tree: :mod:`andon.errors`).
Everything else is internal and may change between releases; extension points are listed in
:mod:`andon.extensions`. Names load on first use, so ``import andon`` stays cheap for the CLI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from andon._version import __version__
from andon.errors import (
    AndonError,
    ConfigError,
    MalformedReply,
    ModelIntegrityError,
    NotFoundError,
    ProviderError,
    ProviderTimeout,
    StoreError,
    TemplateError,
    WorkspaceError,
)

if TYPE_CHECKING:
    from andon.client import (
        APIConnectionError,
        APIError,
        AsyncClient,
        AuthenticationError,
        Client,
        ConflictError,
        InvalidRequestError,
        PermissionDeniedError,
        ProviderUnavailableError,
        RateLimitError,
        ResourceNotFoundError,
        ReviewDecision,
        ServerError,
    )
    from andon.evals.dataset import Dataset
    from andon.evals.evaluate import aevaluate, evaluate
    from andon.evals.model import RunReport
    from andon.gateway.types import InvokeResult
    from andon.versions.canonical import Version
    from andon.workspace import Workspace

# Public name → the module that defines it, imported on first access (PEP 562).
_LAZY: dict[str, str] = {
    "Workspace": "andon.workspace",
    "Version": "andon.versions.canonical",
    "Dataset": "andon.evals.dataset",
    "RunReport": "andon.evals.model",
    "evaluate": "andon.evals.evaluate",
    "aevaluate": "andon.evals.evaluate",
    "Client": "andon.client",
    "AsyncClient": "andon.client",
    "InvokeResult": "andon.gateway.types",
    "ReviewDecision": "andon.client",
    "APIError": "andon.client",
    "APIConnectionError": "andon.client",
    "AuthenticationError": "andon.client",
    "ConflictError": "andon.client",
    "InvalidRequestError": "andon.client",
    "PermissionDeniedError": "andon.client",
    "ProviderUnavailableError": "andon.client",
    "RateLimitError": "andon.client",
    "ResourceNotFoundError": "andon.client",
    "ServerError": "andon.client",
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "AndonError",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ConfigError",
    "ConflictError",
    "Dataset",
    "InvalidRequestError",
    "InvokeResult",
    "MalformedReply",
    "ModelIntegrityError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUnavailableError",
    "RateLimitError",
    "ResourceNotFoundError",
    "ReviewDecision",
    "RunReport",
    "ServerError",
    "StoreError",
    "TemplateError",
    "Version",
    "Workspace",
    "WorkspaceError",
    "__version__",
    "aevaluate",
    "evaluate",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'andon' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
