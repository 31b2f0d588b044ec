"""The detector interface: ``update(ts, value) -> Verdict``, typed settings chosen by ``type``, saved state.

Every detector learns from every point it is given, says nothing during its warm-up, reports
``no_data`` for a missing value, and marks ``fired`` only when a verdict raises a new alert, so an
alert already reported (before a restart, too: it is part of the saved state) is not raised again.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from andon.errors import AndonError, ConfigError
from andon.messages import t
from andon.plugins import Registry

State = Literal["ok", "warn", "fail", "no_data"]
Timestamp = float | datetime
STATE_VERSION = 1
_RANK: dict[str, int] = {"no_data": 0, "ok": 0, "warn": 1, "fail": 2}


class DetectorStateError(AndonError):
    """A saved detector state cannot be restored (another detector type, or a newer format)."""


@dataclass(frozen=True)
class Proportion:
    """Counts of one window for share detectors: ``successes`` of ``trials`` (e.g. 48 rejects of 400 calls)."""

    successes: int
    trials: int

    def __post_init__(self) -> None:
        if self.trials < 0 or not 0 <= self.successes <= self.trials:
            raise ConfigError(
                t("house3.detector.proportion", successes=self.successes, trials=self.trials),
                where="Proportion",
                hint=t("house3.detector.proportion_hint"),
            )

    @property
    def share(self) -> float:
        """successes / trials (only defined when trials > 0)."""
        return self.successes / self.trials


Value = float | int | Proportion | None


@dataclass(frozen=True)
class Verdict:
    """What a detector says about one point: ``score`` in [0, 1] (0.5 at the fail level), and why.

    ``fired`` is True only when this verdict raises the alert (ok→warn, ok→fail, warn→fail). ``band`` is the
    (low, high) range the detector expected the value in, for detectors that predict one (band, robust-z).
    """

    state: State
    score: float
    reason: str
    fired: bool = False
    band: tuple[float, float] | None = None


class DetectorSettings(BaseModel):
    """Settings every detector type shares; each type extends this with its own typed fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    warmup: int = Field(default=30, ge=0, description="points learned from before any verdict but ok")


def severity(ratio: float) -> float:
    """Map ``statistic / fail level`` (≥ 0) to a score in [0, 1): 0.5 exactly at the fail level."""
    if not ratio > 0:  # also catches NaN
        return 0.0
    if math.isinf(ratio):
        return 1.0
    return min(1.0, ratio / (1.0 + ratio))


def grade(ratio: float, warn_ratio: float) -> State:
    """``fail`` at or above the fail level (ratio 1), ``warn`` at or above ``warn_ratio``, else ``ok``."""
    if ratio >= 1.0:
        return "fail"
    if ratio >= warn_ratio:
        return "warn"
    return "ok"


def seconds(ts: Timestamp) -> float:
    """Seconds since the epoch for a float or a datetime (naive datetimes are taken as UTC)."""
    if isinstance(ts, datetime):
        return ts.timestamp() if ts.tzinfo is not None else (ts - datetime(1970, 1, 1)).total_seconds()
    return float(ts)


class Detector(ABC):
    """Base of every detector: missing data, warm-up, alert bookkeeping and the saved-state envelope.

    Subclasses implement :meth:`_judge` (learn from one point, return state, score and reason) and
    :meth:`_save` / :meth:`_load` (their own JSON-serialisable state).
    """

    type_name: ClassVar[str]
    Settings: ClassVar[type[DetectorSettings]]
    takes_counts: ClassVar[bool] = False

    def __init__(self, settings: DetectorSettings) -> None:
        self.settings = settings
        self._seen = 0
        self._alert: State = "ok"
        self._band: tuple[float, float] | None = None  # set by _judge when it predicts a range

    def update(self, ts: Timestamp, value: Value) -> Verdict:
        """Learn from ``value`` at ``ts`` and judge it; ``None``, NaN or a window of 0 trials is ``no_data``."""
        if value is None or (isinstance(value, Proportion) and value.trials == 0):
            return Verdict("no_data", 0.0, t("watch.no_data"))
        if self.takes_counts != isinstance(value, Proportion):
            want = "Proportion(successes, trials)" if self.takes_counts else t("house3.detector.a_number")
            raise ConfigError(
                t("house3.detector.takes", type=self.type_name, want=want, got=type(value).__name__),
                where=f"detector {self.type_name}",
                hint=t("house3.detector.takes_hint"),
            )
        if not isinstance(value, Proportion):
            value = float(value)
            if not math.isfinite(value):
                return Verdict("no_data", 0.0, t("watch.no_data"))
        self._seen += 1
        self._band = None
        state, score, reason = self._judge(seconds(ts), value)
        if self._seen <= self.settings.warmup:
            warming = t("watch.warming_up", seen=self._seen, warmup=self.settings.warmup)
            return Verdict("ok", 0.0, warming, band=self._band)
        fired = state in ("warn", "fail") and _RANK[state] > _RANK[self._alert]
        self._alert = state
        return Verdict(state, min(1.0, max(0.0, score)), reason, fired, self._band)

    @abstractmethod
    def _judge(self, ts: float, value: Any) -> tuple[State, float, str]:
        """Learn from one present value and judge it (the base handles warm-up and alerts)."""

    @abstractmethod
    def _save(self) -> dict[str, Any]:
        """This detector's own state, JSON-serialisable (lists, numbers, strings, None)."""

    @abstractmethod
    def _load(self, core: dict[str, Any]) -> None:
        """Take back what :meth:`_save` returned."""

    def state(self) -> dict[str, Any]:
        """Everything needed to go on after a restart, as plain JSON data."""
        return {
            "type": self.type_name,
            "version": STATE_VERSION,
            "seen": self._seen,
            "alert": self._alert,
            "core": self._save(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Go on from a :meth:`state` saved earlier: no new warm-up, no second alert for the same breach."""
        where = f"detector {self.type_name} state"
        if state.get("type") != self.type_name:
            raise DetectorStateError(
                t("house3.detector.state_type", saved=state.get("type"), type=self.type_name),
                where=where,
                hint=t("house3.detector.state_type_hint"),
            )
        if state.get("version") != STATE_VERSION:
            raise DetectorStateError(
                t("house3.detector.state_version", saved=state.get("version"), version=STATE_VERSION),
                where=where,
                hint=t("house3.detector.state_version_hint"),
            )
        try:
            self._load(state["core"])
            self._seen = int(state["seen"])
            alert = state["alert"]
        except (KeyError, TypeError, ValueError) as exc:
            raise DetectorStateError(
                t("house3.detector.state_damaged", kind=type(exc).__name__, error=exc),
                where=where,
                hint=t("house3.detector.start_fresh"),
            ) from None
        self._alert = alert if alert in _RANK else "ok"


GROUP = "andon.detectors"

# Imported only when used (river takes a second to import); a plugin cannot take over a built-in name.
BUILTINS: dict[str, str] = {
    "threshold": "andon.watch.detectors.threshold:StaticThreshold",
    "robust-z": "andon.watch.detectors.robust:RobustZ",
    "ewma": "andon.watch.detectors.control:Ewma",
    "cusum": "andon.watch.detectors.control:Cusum",
    "band": "andon.watch.detectors.band:Band",
    "adwin": "andon.watch.detectors.drift:Adwin",
    "page-hinkley": "andon.watch.detectors.drift:PageHinkley",
    "kswin": "andon.watch.detectors.drift:Kswin",
    "proportion": "andon.watch.detectors.proportion:ProportionShift",
    "share-cusum": "andon.watch.detectors.sequential:ShareCusum",
    "ensemble": "andon.watch.detectors.ensemble:Ensemble",
}

REGISTRY = Registry(GROUP, "detector", BUILTINS)


def known_types() -> list[str]:
    """Every detector type usable as ``type:``."""
    return REGISTRY.names()


def detector_class(type_name: str, *, where: str | None = None) -> type[Detector]:
    """The class registered as ``type_name``; an unknown one, or one that is not a Detector, is a ConfigError."""
    return REGISTRY.load_class(type_name, Detector, where=where)  # type: ignore[type-abstract]  # mypy#4717


def build_detector(settings: Mapping[str, Any] | DetectorSettings, *, where: str = "detector") -> Detector:
    """A ready detector for ``settings`` (a mapping with ``type``, or a settings model); bad fields name ``where``.

    >>> build_detector({"type": "threshold", "fail_above": 0.3}).update(0, 0.5).state
    'fail'
    """
    if isinstance(settings, DetectorSettings):
        return detector_class(settings.type, where=f"{where}.type")(settings)
    type_name = settings.get("type")
    if not isinstance(type_name, str):
        raise ConfigError(
            t("house3.detector.needs_type"),
            where=f"{where}.type",
            hint=t("house3.detector.one_of", known=", ".join(known_types())),
        )
    cls = detector_class(type_name, where=f"{where}.type")
    try:
        model = cls.Settings.model_validate(dict(settings))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        raise ConfigError(
            error["msg"].removeprefix("Value error, "),
            where=f"{where}.{field}" if field else where,
            hint=t("house3.detector.see_settings", type=type_name),
        ) from None
    return cls(model)
