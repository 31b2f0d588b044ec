"""One registry mechanism for every extension point (providers, graders, …): built-ins plus entry points."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from andon.errors import ConfigError


@dataclass(frozen=True)
class Registry:
    """Names → ``module:attr`` targets; built-ins resolve without installed metadata and cannot be overridden.

    A user adds one through the entry-point ``group`` (e.g. ``andon.providers``) in their own package.
    """

    group: str
    kind: str  # "provider", "grader", … (for messages)
    builtins: dict[str, str]

    def _plugins(self) -> dict[str, EntryPoint]:
        return {ep.name: ep for ep in entry_points(group=self.group) if ep.name not in self.builtins}

    def names(self) -> list[str]:
        """Every registered name."""
        return sorted({*self.builtins, *self._plugins()})

    def load(self, name: str, *, where: str | None = None, hint: str = "install what it needs") -> object:
        """The object registered as ``name``; an unknown or broken one is a ConfigError naming ``where``."""
        target = self.builtins.get(name)
        plugin = None if target is not None else self._plugins().get(name)
        if target is None and plugin is None:
            raise ConfigError(
                f"unknown {self.kind} type {name!r}; known types: {', '.join(self.names())}",
                where=where,
                hint=f"use a known type, or install the package that registers this one (entry point {self.group})",
            )
        try:
            if plugin is not None:
                return plugin.load()
            module_name, _, attr = (target or "").partition(":")
            return getattr(importlib.import_module(module_name), attr)
        except Exception as exc:
            raise ConfigError(
                f"{self.kind} type {name!r} could not be loaded: {type(exc).__name__}: {exc}", where=where, hint=hint
            ) from exc
