"""Monitors: andon.yaml's ``monitors:`` checked against the detectors (file:line errors), and one step of a
monitor — a measurement judged, ``for:`` and the failure limit applied, and the decision (act, shadow,
cooldown, resume) taken. The watcher and the backtest both step monitors through here.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from andon.config.loader import LoadedConfig, parse_yaml
from andon.config.schema import SHARE_METRICS, MonitorConfig, WorkspaceConfig, persist_rule
from andon.errors import ConfigError
from andon.messages import t
from andon.store.watch import WatchPoint
from andon.watch.detectors.base import (
    Detector,
    DetectorSettings,
    DetectorStateError,
    Proportion,
    Value,
    Verdict,
    detector_class,
)

Decision = Literal["act", "shadow", "cooldown", "resume"]
MONITOR_ACTOR = "monitor:"  # a monitor acts as ``monitor:NAME``
MIN_INTERVAL_S = 1.0  # sub-minute intervals work (15s); below a second each tick would be mostly store round trips
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Monitor:
    """One checked monitor: its config and its detector's typed settings."""

    name: str
    config: MonitorConfig
    settings: DetectorSettings
    detector_type: type[Detector]

    @property
    def feature(self) -> str | None:
        """The feature the cord acts on (None: a monitor that only records and calls webhooks)."""
        return self.config.feature

    @property
    def source_feature(self) -> str | None:
        """Whose traces a traces monitor reads."""
        return self.config.source.feature or self.config.feature

    @property
    def pushed_name(self) -> str:
        """The metric name a ``pushed`` source reads (its ``name``, else the monitor's)."""
        return self.config.source.name or self.name

    @property
    def takes_counts(self) -> bool:
        """Whether the detector judges counts (Proportion) rather than numbers."""
        return self.detector_type.takes_counts

    @property
    def fingerprint(self) -> str:
        """A hash of the detector's settings: saved state is only restored into the same detector."""
        canonical = json.dumps(self.settings.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def new_detector(self) -> Detector:
        """A fresh detector with this monitor's settings."""
        return self.detector_type(self.settings)


def build_monitors(config: WorkspaceConfig, *, path: Path | None = None) -> dict[str, Monitor]:
    """Every monitor of ``config``, checked: features exist, detector settings are valid and fit the metric.

    With ``path`` (andon.yaml), errors name its file:line:column; otherwise the dotted field.
    """
    positions = _positions(path)
    monitors: dict[str, Monitor] = {}
    for name, monitor in config.monitors.items():
        base: Loc = ("monitors", name)
        for loc, feature in ((("feature",), monitor.feature), (("source", "feature"), monitor.source.feature)):
            if feature is not None and feature not in config.features:
                known = list(config.features)
                close = difflib.get_close_matches(feature, known, n=1)
                raise _error(
                    t("watch.monitor.no_feature", feature=feature),
                    (*base, *loc),
                    path,
                    positions,
                    t("watch.hint.did_you_mean", name=close[0])
                    if close
                    else t("watch.hint.known", names=", ".join(known) or "-"),
                )
        grader = monitor.source.grader
        judged = config.features.get(monitor.source.feature or monitor.feature or "")
        if grader is not None and (judged is None or judged.serve.judge is None or judged.serve.judge.grader != grader):
            raise _error(
                t("live_judge.monitor.not_judged", grader=grader, feature=monitor.source.feature or monitor.feature),
                (*base, "source", "grader"),
                path,
                positions,
                t("live_judge.monitor.hint", grader=grader),
            )
        settings, kind = _detector(name, monitor, path, positions)
        _check_fit(name, monitor, kind, path, positions)
        monitors[name] = Monitor(name, monitor, settings, kind)
    return monitors


def check_monitors(loaded: LoadedConfig) -> dict[str, Monitor]:
    """The monitors of a loaded andon.yaml, checked with file:line errors (``andon check`` calls this)."""
    return build_monitors(loaded.config, path=loaded.path)


def _positions(path: Path | None) -> dict[Loc, tuple[int, int]]:
    if path is None:
        return {(): (1, 1)}
    try:
        return parse_yaml(path.read_text(encoding="utf-8"), path, dict(os.environ))[1]
    except (OSError, ConfigError):
        return {(): (1, 1)}


def _where(loc: Loc, path: Path | None, positions: dict[Loc, tuple[int, int]]) -> str:
    dotted = ".".join(str(p) for p in loc)
    if path is None:
        return dotted
    for size in range(len(loc), -1, -1):
        if loc[:size] in positions:
            line, col = positions[loc[:size]]
            return f"{path}:{line}:{col}"
    return str(path)


def _error(
    message: str, loc: Loc, path: Path | None, positions: dict[Loc, tuple[int, int]], hint: str | None = None
) -> ConfigError:
    dotted = ".".join(str(p) for p in loc)
    return ConfigError(f"{dotted}: {message}", where=_where(loc, path, positions), hint=hint)


def _detector(
    name: str, monitor: MonitorConfig, path: Path | None, positions: dict[Loc, tuple[int, int]]
) -> tuple[DetectorSettings, type[Detector]]:
    base: Loc = ("monitors", name, "detector")
    spec = dict(monitor.detector)
    try:
        kind = detector_class(str(spec["type"]), where=".".join(str(p) for p in (*base, "type")))
    except ConfigError as exc:
        raise _error(exc.message, (*base, "type"), path, positions, exc.hint) from None
    try:
        return kind.Settings.model_validate(spec), kind
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        fields = sorted(kind.Settings.model_fields)
        if error["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
            message = t("watch.monitor.unknown_setting", field=loc[-1], type=spec["type"])
            hint = (
                t("watch.hint.did_you_mean", name=close[0]) if close else t("watch.hint.known", names=", ".join(fields))
            )
        else:
            message = error["msg"].removeprefix("Value error, ")
            hint = t("watch.hint.detector_settings", type=spec["type"], fields=", ".join(fields))
        raise _error(message, (*base, *loc), path, positions, hint) from None


def _check_fit(
    name: str, monitor: MonitorConfig, kind: type[Detector], path: Path | None, positions: dict[Loc, tuple[int, int]]
) -> None:
    base: Loc = ("monitors", name)
    if monitor.interval < MIN_INTERVAL_S:
        raise _error(
            t("watch.monitor.interval_short", interval=monitor.interval),
            (*base, "interval"),
            path,
            positions,
            t("watch.hint.interval_short"),
        )
    counts = monitor.source.type == "traces" and monitor.metric in SHARE_METRICS and monitor.baseline is None
    if kind.takes_counts and not counts:
        why = "watch.monitor.counts_baseline" if monitor.baseline is not None else "watch.monitor.counts_needed"
        raise _error(
            t(why, type=kind.type_name, metric=monitor.metric),
            (*base, "detector", "type"),
            path,
            positions,
            t("watch.hint.numeric_detector"),
        )
    if (
        monitor.baseline is not None
        and monitor.source.type in ("http_json", "pushed")
        and (monitor.baseline.of == "previous_version")
    ):
        raise _error(t("watch.monitor.no_version_baseline"), (*base, "baseline"), path, positions)
    if monitor.baseline is not None and monitor.source.type == "http_json":
        raise _error(t("watch.monitor.no_past"), (*base, "baseline"), path, positions)


# --- one step ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """What a source gave for one window: a number (the share, for counts), the counts, the calls, or an error."""

    value: float | None = None
    counts: Proportion | None = None
    calls: int | None = None  # calls in the window, for min_calls (None: not a traces count)
    baseline: float | None = None
    error: str | None = None

    def detector_value(self, takes_counts: bool) -> Value:
        """The value a detector is fed: the counts for a share detector, else the number."""
        return self.counts if takes_counts else self.value


@dataclass
class MonitorState:
    """What a monitor remembers between points (saved after each one): detector state and breach bookkeeping."""

    detector: dict[str, Any] | None = None
    fingerprint: str | None = None
    fail_points: int = 0
    fail_since: float | None = None
    ok_points: int = 0
    ok_since: float | None = None
    errors: int = 0
    breach_key: str | None = None
    breach_at: float | None = None
    last_action_at: float | None = None
    stopped_feature: bool = False  # this monitor stopped its feature and may resume it (resume: on_recovery)
    last_value: float | None = None
    last_state: str | None = None
    last_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data for the store."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> MonitorState:
        """Back from :meth:`to_json` (unknown keys from other versions are ignored)."""
        if not data:
            return cls()
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Step:
    """The outcome of one point: what to store, the new state, and what to do."""

    point: WatchPoint
    state: MonitorState
    status: str
    decision: Decision | None = None
    verdict: Verdict | None = None
    notes: list[str] = field(default_factory=list)


def breach_key(monitor: str, fail_since: float) -> str:
    """The id of one breach (a run of failing points): the same on every watcher that sees it."""
    return f"monitor:{monitor}:{datetime.fromtimestamp(fail_since, UTC).isoformat()}"


def _persisted(points: int, since: float | None, now: float, rule: int | str, interval: float) -> bool:
    """Whether a run of ``points`` starting at ``since`` satisfies ``for:`` (each point stands for one interval)."""
    need_points, need_seconds = persist_rule(rule)
    if need_points is not None:
        return points >= need_points
    assert need_seconds is not None
    return since is not None and (now - since + interval) >= need_seconds - 1e-9


def step(monitor: Monitor, saved: MonitorState | None, ts: datetime, measured: Measurement) -> Step:
    """Judge one measurement at ``ts``: learn, count the failing run, decide. Pure: the caller stores it."""
    cfg = monitor.config
    state = replace(saved) if saved is not None else MonitorState()
    notes: list[str] = []
    detector = monitor.new_detector()
    if state.detector is not None and state.fingerprint == monitor.fingerprint:
        try:
            detector.restore(state.detector)
        except DetectorStateError as exc:
            notes.append(t("watch.state_reset", why=exc.message))
    elif state.detector is not None:
        notes.append(t("watch.settings_changed"))
    now = ts.timestamp()
    verdict: Verdict | None = None
    value = measured.detector_value(monitor.takes_counts)
    too_few = cfg.min_calls > 0 and measured.calls is not None and measured.calls < cfg.min_calls
    failing = False
    if measured.error is not None and state.errors < cfg.failure_limit:
        state.errors += 1
        point_state, score = "error", 0.0
        reason = t("watch.source_error", error=measured.error, count=state.errors, limit=cfg.failure_limit)
    elif measured.error is not None or value is None or too_few:
        if measured.error is not None:
            state.errors += 1
            reason = t("watch.source_error", error=measured.error, count=state.errors, limit=cfg.failure_limit)
        elif too_few:
            reason = t("watch.too_few_calls", calls=measured.calls, need=cfg.min_calls)
        else:
            reason = t("watch.no_data")
        if cfg.no_data == "fail":
            point_state, score, failing = "fail", 1.0, True
            reason = t("watch.no_data_fails", reason=reason)
        else:
            point_state, score = "paused", 0.0
    else:
        state.errors = 0
        verdict = detector.update(ts, value)
        point_state, score, reason = verdict.state, verdict.score, verdict.reason
        failing = verdict.state == "fail"
        state.detector, state.fingerprint = detector.state(), monitor.fingerprint
    if failing:
        state.fail_points += 1
        state.fail_since = state.fail_since if state.fail_since is not None else now
        state.ok_points, state.ok_since = 0, None
    elif point_state in ("ok", "warn"):
        state.fail_points, state.fail_since, state.breach_key, state.breach_at = 0, None, None, None
        state.ok_points += 1
        state.ok_since = state.ok_since if state.ok_since is not None else now
    decision: Decision | None = None
    if (
        failing
        and state.breach_key is None
        and _persisted(state.fail_points, state.fail_since, now, cfg.for_, cfg.interval)
    ):
        assert state.fail_since is not None
        state.breach_key, state.breach_at = breach_key(monitor.name, state.fail_since), now
        if cfg.mode == "shadow":
            decision = "shadow"
        elif state.last_action_at is not None and now - state.last_action_at < cfg.cooldown:
            decision = "cooldown"
        else:
            decision = "act"
            state.last_action_at = now
            if any(a.type == "stop" for a in cfg.actions) and monitor.feature is not None:
                state.stopped_feature = True
    elif (
        point_state in ("ok", "warn")
        and state.stopped_feature
        and cfg.resume.when == "on_recovery"
        and cfg.resume.for_ is not None
        and _persisted(state.ok_points, state.ok_since, now, cfg.resume.for_, cfg.interval)
    ):
        decision = "resume"
        state.stopped_feature = False
    state.last_value = measured.value
    state.last_state, state.last_reason = point_state, reason
    counts = measured.counts
    point = WatchPoint(
        monitor=monitor.name,
        ts=ts,
        value=measured.value,
        state=point_state,
        score=score,
        reason=reason,
        fired=bool(verdict is not None and verdict.fired),
        successes=counts.successes if counts is not None else None,
        trials=counts.trials if counts is not None else None,
        baseline=measured.baseline,
        decision=decision,
        mode=cfg.mode,
        band_low=verdict.band[0] if verdict is not None and verdict.band is not None else None,
        band_high=verdict.band[1] if verdict is not None and verdict.band is not None else None,
    )
    status = "breached" if state.breach_key is not None else point_state
    return Step(point, state, status, decision, verdict, notes)


def aligned(ts: datetime, interval: float) -> datetime:
    """``ts`` rounded down to a multiple of ``interval`` seconds since the epoch: every watcher ticks alike."""
    seconds = ts.timestamp()
    return datetime.fromtimestamp(seconds - (seconds % interval), UTC)


def probe_share(config: WorkspaceConfig, feature: str, stopped_by: str | None) -> float:
    """The share of a stopped feature's calls the gateway also sends to the live version as shadow probes.

    Only while the feature is held stopped by an active traces monitor of its own with ``resume: on_recovery``:
    its ``resume.probe``, so that monitor keeps measuring the live version and can resume it. Otherwise 0.
    """
    if stopped_by is None or not stopped_by.startswith(MONITOR_ACTOR):
        return 0.0
    monitor = config.monitors.get(stopped_by.removeprefix(MONITOR_ACTOR))
    if (
        monitor is None
        or monitor.feature != feature
        or monitor.mode != "active"
        or monitor.resume.when != "on_recovery"
        or monitor.source.type != "traces"
        or (monitor.source.feature or monitor.feature) != feature
    ):
        return 0.0
    return monitor.resume.probe
