"""The key-result binding interface: ``read(context) -> Reading``, typed settings chosen by ``type``, one registry.

A binding feeds a key result a number nobody has to type: an andon metric, a read-only SQL query, linked work
items, or a formula over other bindings. Its spec lives in ``KeyResult.binding`` (``{"type": ..., ...}``);
:func:`check_binding` validates it with errors naming the field, :func:`build_binding` makes it ready to read.
"""

from __future__ import annotations

import difflib
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from andon.errors import AndonError, ConfigError
from andon.messages import t
from andon.plugins import Registry
from andon.store.okr import KeyResult, Period
from andon.workspace import Workspace


class BindingError(AndonError):
    """A binding could not give its key result a number (unreachable, refused, or no data): nothing is recorded."""


@dataclass(frozen=True)
class BindingContext:
    """What a binding reads for: the workspace, the key result and its period, and the time of the sync."""

    ws: Workspace
    key_result: KeyResult
    period: Period
    now: datetime

    @property
    def period_start(self) -> datetime:
        """The first instant of the period (UTC midnight of its first day)."""
        return datetime.combine(self.period.starts, time(), UTC)

    @property
    def period_end(self) -> datetime:
        """The instant after the period's last day (its ``ends`` is inclusive)."""
        return datetime.combine(self.period.ends + timedelta(days=1), time(), UTC)

    @property
    def end(self) -> datetime:
        """Where windows end: now, or the period's end once it is over (a late sync still measures the period)."""
        now = self.now if self.now.tzinfo is not None else self.now.replace(tzinfo=UTC)
        return min(now, self.period_end)


@dataclass(frozen=True)
class Reading:
    """One number read by a binding and what it saw (``snapshot``: inputs, window, query hash …; plain JSON)."""

    value: float
    snapshot: dict[str, Any] = field(default_factory=dict)


class BindingSettings(BaseModel):
    """Settings every binding type shares; each type extends this with its own typed fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str


class Binding(ABC):
    """Base of every binding type: ``read`` one number for a key result, or raise :class:`BindingError`."""

    type_name: ClassVar[str]
    Settings: ClassVar[type[BindingSettings]]

    def __init__(self, settings: BindingSettings) -> None:
        self.settings = settings

    @classmethod
    def check(cls, settings: BindingSettings, where: str) -> None:
        """Checks beyond the settings model (e.g. nested bindings); a ConfigError naming ``where``'s field."""
        return None  # most types need none

    @abstractmethod
    def read(self, context: BindingContext) -> Reading:
        """The key result's number now, with its snapshot; a BindingError when there is none to give."""

    def describe(self) -> str:
        """One line naming what is read, for tables (no secrets)."""
        return self.type_name


GROUP = "andon.kr_bindings"

BUILTINS: dict[str, str] = {
    "andon_metric": "andon.okr.bindings.metric:AndonMetric",
    "sql": "andon.okr.bindings.sql:SqlBinding",
    "work": "andon.okr.bindings.work:WorkBinding",
    "retention": "andon.okr.bindings.retention:RetentionBinding",
}

REGISTRY = Registry(GROUP, "key-result binding", BUILTINS)


def known_types() -> list[str]:
    """Every binding type usable as ``type:``."""
    return REGISTRY.names()


def binding_class(type_name: str, *, where: str | None = None) -> type[Binding]:
    """The class registered as ``type_name``; an unknown one, or one that is not a Binding, is a ConfigError."""
    return REGISTRY.load_class(type_name, Binding, where=where)  # type: ignore[type-abstract]  # mypy#4717


def check_binding(spec: Mapping[str, Any] | BindingSettings, where: str = "binding") -> BindingSettings:
    """``spec`` as its type's typed settings; a ConfigError naming ``where`` and the field when it is not valid.

    >>> check_binding({"type": "work", "measure": "share_done"}).type
    'work'
    """
    if isinstance(spec, BindingSettings):
        cls = binding_class(spec.type, where=f"{where}.type")
        cls.check(spec, where)
        return spec
    if not isinstance(spec, Mapping):
        raise ConfigError(
            t("okr.bind.not_mapping", got=type(spec).__name__),
            where=where,
            hint=t("okr.bind.hint.types", types=", ".join(known_types())),
        )
    type_name = spec.get("type")
    if not isinstance(type_name, str) or not type_name:
        raise ConfigError(
            t("okr.bind.no_type"), where=f"{where}.type", hint=t("okr.bind.hint.types", types=", ".join(known_types()))
        )
    cls = binding_class(type_name, where=f"{where}.type")
    try:
        settings = cls.Settings.model_validate(dict(spec))
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = ".".join(str(p) for p in error["loc"])
        if error["type"] == "extra_forbidden":
            known = sorted(set(cls.Settings.model_fields) - {"type"})
            close = difflib.get_close_matches(loc, known, n=1)
            message = t("okr.bind.unknown_field", field=loc, type=type_name)
            hint = (
                t("okr.bind.hint.did_you_mean", name=close[0])
                if close
                else t("okr.bind.hint.fields", fields=", ".join(known))
            )
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            fields = ", ".join(f for f in cls.Settings.model_fields if f != "type")
            hint = t("okr.bind.hint.settings", type=type_name, fields=fields)
        raise ConfigError(message, where=f"{where}.{loc}" if loc else where, hint=hint) from None
    cls.check(settings, where)
    return settings


def build_binding(spec: Mapping[str, Any] | BindingSettings, where: str = "binding") -> Binding:
    """A ready binding for ``spec`` (checked as by :func:`check_binding`)."""
    settings = check_binding(spec, where)
    return binding_class(settings.type, where=f"{where}.type")(settings)


def finite(value: float, what: str) -> float:
    """``value`` if it is a finite number, else a BindingError naming ``what`` (NaN and ∞ are never recorded)."""
    if not math.isfinite(value):
        raise BindingError(t("okr.bind.not_finite", what=what, value=value))
    return value
