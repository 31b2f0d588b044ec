"""One registry mechanism for every extension point (providers, graders, …): built-ins plus entry points."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TypeVar

from andon.errors import ConfigError
from andon.messages import t

_T = TypeVar("_T")


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

    def load(self, name: str, *, where: str | None = None, hint: str | None = None) -> object:
        """The object registered as ``name``; an unknown or broken one is a ConfigError naming ``where``."""
        target = self.builtins.get(name)
        plugin = None if target is not None else self._plugins().get(name)
        if target is None and plugin is None:
            raise ConfigError(
                t("plugins.unknown", kind=self.kind, name=name, known=", ".join(self.names())),
                where=where,
                hint=t("plugins.unknown_hint", group=self.group),
            )
        try:
            if plugin is not None:
                return plugin.load()
            module_name, _, attr = (target or "").partition(":")
            return getattr(importlib.import_module(module_name), attr)
        except Exception as exc:
            raise ConfigError(
                t("plugins.broken", kind=self.kind, name=name, error_type=type(exc).__name__, error=exc),
                where=where,
                hint=hint or t("plugins.broken_hint"),
            ) from exc

    def load_class(self, name: str, base: type[_T], *, where: str | None = None) -> type[_T]:
        """The class registered as ``name``, which must subclass ``base``; anything else is a ConfigError."""
        cls = self.load(name, where=where)
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise ConfigError(
                t("plugins.not_subclass", kind=self.kind, name=name, base=base.__name__),
                where=where,
                hint=t("plugins.not_subclass_hint", kind=self.kind, path=f"{base.__module__}.{base.__qualname__}"),
            )
        return cls
