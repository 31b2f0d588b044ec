"""Executors by name: the built-ins, plus plugins registered under the ``andon.executors`` entry point."""

from __future__ import annotations

from andon.evals.executors.base import Executor, ExecutorSettings
from andon.extensions import EXECUTORS
from andon.plugins import Registry

__all__ = ["BUILTINS", "REGISTRY", "build_executor", "known_executors"]

BUILTINS: dict[str, str] = {
    "local": "andon.evals.executors.local:LocalExecutor",
    "ray": "andon.evals.executors.ray_cluster:RayExecutor",
}

REGISTRY = Registry(EXECUTORS.group, EXECUTORS.kind, BUILTINS)


def known_executors() -> list[str]:
    """Every name ``andon eval --executor`` accepts."""
    return REGISTRY.names()


def build_executor(name: str, settings: ExecutorSettings | None = None) -> Executor:
    """A checked executor named ``name`` (Ray: installed and its cluster answering); unknown names list the known."""
    cls = REGISTRY.load_class(name, Executor, where="--executor")  # type: ignore[type-abstract]
    executor = cls(settings)
    executor.check()
    return executor
