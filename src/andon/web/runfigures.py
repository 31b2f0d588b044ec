"""A run's figures for the run and comparison pages: the evaluation report's own summaries, kept per app.

Summarising a run reads every cell, so a page builds it once per run state (status, end time, criteria) and
keeps it in a small cache on the app; a finished run's cells never change, a running one is keyed by its tally.
A finished run's summaries are also stored once built, so a restarted dashboard reads them instead.
The first view of a large run does not wait for that: the summary is worked out in a background thread (as the
home page's verdicts are) while the page shows its cells and says the summary is coming.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
from starlette.requests import Request

from andon._version import __version__
from andon.config.schema import FeatureConfig
from andon.errors import NotFoundError
from andon.evals.build import feature_for_run, load_cells
from andon.evals.compare import compare_cells
from andon.evals.metrics import MetricValue
from andon.evals.model import Case, Comparison, CriterionResult, RunReport, VersionSummary
from andon.evals.report._format import metric_kind, metric_label
from andon.evals.report._view import KEY_METRICS, find_metric
from andon.evals.report.export import ReportFormatError, report_from_dict, report_to_dict
from andon.evals.summarize import Conversion, summarize_version
from andon.store.records import RunRecord
from andon.web.i18n import Formats
from andon.workspace import Workspace

T = TypeVar("T")
KEPT = 16  # runs and comparisons kept; each holds summaries only, never the cells
WAIT_S = 1.0  # what a page waits for figures being built before it shows itself without them


@dataclass(frozen=True, slots=True)
class RunFigures:
    """A run's per-version summaries: criteria, intervals, confusion matrix."""

    run: RunRecord
    feature: FeatureConfig
    summaries: list[VersionSummary]


class FigureCache:
    """A small least-recently-used cache shared by the requests of one app (thread-safe)."""

    def __init__(self, size: int = KEPT) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, _Build[Any]] = {}

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        """The value kept for ``key``, else ``build()`` kept (two requests may build it at once; both agree)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]  # type: ignore[no-any-return]
        value = build()
        self._keep(key, value)
        return value

    def soon(self, key: Hashable, build: Callable[[], T], wait_s: float | None = None) -> T | None:
        """The value kept for ``key``; else ``build()`` in a background thread (one per key), waited for up to
        ``wait_s`` seconds: None when it is still being built. Raises what building raised."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]  # type: ignore[no-any-return]
            job = self._building.get(key)
            if job is None:
                job = self._building[key] = _Build(build, lambda value: self._done(key, value))
        if not job.finished.wait(WAIT_S if wait_s is None else wait_s):
            return None
        if job.error is not None:
            with self._lock:
                if self._building.get(key) is job:
                    del self._building[key]  # the next visit tries again
            raise job.error
        return job.value

    def _done(self, key: Hashable, value: object) -> None:
        self._keep(key, value)
        with self._lock:
            self._building.pop(key, None)

    def _keep(self, key: Hashable, value: object) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class _Build(Generic[T]):
    """One value being built in a daemon thread; ``finished`` is set once it is built or failed."""

    def __init__(self, work: Callable[[], T], keep: Callable[[T], None]) -> None:
        self.finished = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None
        self._work, self._keep = work, keep
        threading.Thread(target=self._run, daemon=True, name="andon-web-figures").start()

    def _run(self) -> None:
        try:
            self.value = self._work()
            self._keep(self.value)
        except BaseException as exc:  # handed to the page that waits; the thread itself must not die loudly
            self.error = exc
        finally:
            self.finished.set()


def cache_of(request: Request) -> FigureCache:
    """The app's figure cache, made on first use."""
    state = request.app.state
    found = getattr(state, "run_figures", None)
    if not isinstance(found, FigureCache):
        found = FigureCache()
        state.run_figures = found
    return found


def _state_key(ws: Workspace, run: RunRecord) -> tuple[Hashable, ...]:
    """What a run's figures depend on: its state, its cell tally while running, and andon.yaml's criteria."""
    current = ws.config.features.get(run.feature)
    judged = current.model_dump(include={"criteria", "strict", "alpha"}, mode="json") if current else None
    tally = json.dumps(ws.store.run_tallies([run.id]), sort_keys=True) if run.status == "running" else ""
    return (str(ws.store.url), run.id, run.status, run.finished_at, tally, json.dumps(judged, sort_keys=True))


def run_figures(ws: Workspace, cache: FigureCache, run: RunRecord) -> RunFigures:
    """The run's summaries as the evaluation report computes them (built once per run state)."""
    return cache.get(("run", *_state_key(ws, run)), _figures_builder(ws, run))


def run_figures_soon(
    ws: Workspace, cache: FigureCache, run: RunRecord, wait_s: float | None = None
) -> RunFigures | None:
    """:func:`run_figures`, or None while they are still being built in the background."""
    return cache.soon(("run", *_state_key(ws, run)), _figures_builder(ws, run), wait_s)


def _figures_builder(ws: Workspace, run: RunRecord) -> Callable[[], RunFigures]:

    def build() -> RunFigures:
        # The report's summaries without its comparison (the comparison page makes that one when asked).
        feature = feature_for_run(run, ws.config.features.get(run.feature))
        key = stored_key(ws, run)
        stored = stored_summaries(ws, run, key) if key is not None else None
        if stored is not None:
            return RunFigures(run, feature, stored)
        cases = {c.id: c for c in (Case.from_json(data) for data in ws.store.run_cases(run.id))}
        convert = Conversion.of(ws.config)
        summaries = [
            summarize_version(vid, name, load_cells(ws.store, run.id, vid), cases, feature, convert)
            for name, vid in run.versions
        ]
        if key is not None:
            kept = RunReport(run=run, summaries=summaries, comparison=None, cases=[], cells=[])
            ws.store.save_run_summary(run.id, key, json.dumps(report_to_dict(kept), ensure_ascii=False, default=_plain))
        return RunFigures(run, feature, summaries)

    return build


def _plain(value: object) -> object:
    """A numpy number as Python's (the mean's bootstrap counts cases with numpy: ``n`` may be an int64)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")


def stored_key(ws: Workspace, run: RunRecord) -> str | None:
    """What a finished run's summaries are stored under: a digest of its state, andon.yaml's criteria and the
    andon that summarised it; None while the run is still running (its cells still change)."""
    if run.status == "running":
        return None
    state = [str(part) for part in _state_key(ws, run)[2:]]
    return hashlib.sha256(json.dumps([__version__, *state]).encode()).hexdigest()


def stored_summaries(ws: Workspace, run: RunRecord, key: str) -> list[VersionSummary] | None:
    """The summaries stored for ``run`` under ``key``; None when there are none (or they cannot be read back)."""
    text = ws.store.run_summary(run.id, key)
    if text is None:
        return None
    try:
        return report_from_dict(json.loads(text)).summaries
    except (ReportFormatError, ValueError):
        return None  # summarised again, and kept under a new andon's key


def version_of(run: RunRecord, ref: str | None, default: int, missing: str) -> tuple[str, str]:
    """(name, id) of the run's version named ``ref`` (or an id prefix); ``versions[default]`` when ``ref`` is empty."""
    if not run.versions:
        raise NotFoundError(missing)
    if not ref:
        return run.versions[default]
    for name, version_id in run.versions:
        if ref in (name, version_id):
            return name, version_id
    matches = [(n, v) for n, v in run.versions if v.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    raise NotFoundError(missing)


Side = tuple[RunRecord, str, str]  # (run, version name, version id)


def comparison(ws: Workspace, cache: FigureCache, a: Side, b: Side, alpha: float) -> Comparison:
    """B against A, each a (run, version name, version id): the paired comparison ``andon compare`` makes."""
    return cache.get(_comparison_key(ws, a, b, alpha), _comparison_builder(ws, a, b, alpha))


def comparison_soon(
    ws: Workspace, cache: FigureCache, a: Side, b: Side, alpha: float, wait_s: float | None = None
) -> Comparison | None:
    """:func:`comparison`, or None while it is still being built in the background."""
    return cache.soon(_comparison_key(ws, a, b, alpha), _comparison_builder(ws, a, b, alpha), wait_s)


def _comparison_key(ws: Workspace, a: Side, b: Side, alpha: float) -> tuple[Hashable, ...]:
    return ("cmp", *_state_key(ws, a[0]), a[2], *_state_key(ws, b[0]), b[2], alpha)


def _comparison_builder(ws: Workspace, a: Side, b: Side, alpha: float) -> Callable[[], Comparison]:
    def build() -> Comparison:
        (a_run, a_name, a_id), (b_run, b_name, b_id) = a, b
        a_cells = load_cells(ws.store, a_run.id, a_id)
        b_cells = a_cells if (a_run.id, a_id) == (b_run.id, b_id) else load_cells(ws.store, b_run.id, b_id)
        return compare_cells(a_name, a_id, a_cells, b_name, b_id, b_cells, alpha)

    return build


# --- showing figures with the page's formats -----------------------------------------------------------------


def figure(fmt: Formats, value: float | None, kind: str, currency: str) -> str:
    """A figure as the locale writes it: shares as percentages, times in ms, money in its currency."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kind == "percent":
        return fmt.percent(value)
    if kind == "ms":
        return fmt.t("webruns.ms", n=fmt.number(value, 1))
    if kind == "money":
        # Below a cent (or a won) the currency's usual digits would show 0: keep the significant digits.
        return fmt.money(value, currency) if value == 0 or abs(value) >= 0.01 else f"{fmt.number(value, 6)} {currency}"
    if kind == "score":
        return fmt.number(value, 3)
    return fmt.number(value, 2)


def interval(fmt: Formats, low: float | None, high: float | None, kind: str, currency: str) -> str:
    """``[low – high]``, or nothing when the figure has no interval."""
    if low is None or high is None:
        return ""
    return fmt.t("webruns.interval", low=figure(fmt, low, kind, currency), high=figure(fmt, high, kind, currency))


@dataclass(frozen=True, slots=True)
class Shown:
    """One figure as text: its value and its 95 % interval."""

    value: str
    interval: str


def shown_metric(fmt: Formats, metric: MetricValue | None, currency: str) -> Shown:
    """A metric as text; a share over nothing (n = 0) is no data."""
    if metric is None:
        return Shown("—", "")
    kind = metric_kind(metric.name, metric.unit)
    if metric.n == 0 and kind == "percent":
        return Shown("—", "")
    return Shown(figure(fmt, metric.value, kind, currency), interval(fmt, metric.low, metric.high, kind, currency))


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One key metric across versions: its label and each version's figure."""

    name: str
    label: str
    values: list[Shown]


def metric_rows(fmt: Formats, summaries: list[VersionSummary], currency: str) -> list[MetricRow]:
    """The report's key metrics that some version has, in the report's reading order."""
    rows = []
    for names in KEY_METRICS:
        found = [find_metric(s, names) for s in summaries]
        if any(found):
            label = metric_label(names[0], fmt.language)
            rows.append(MetricRow(names[0], label, [shown_metric(fmt, m, currency) for m in found]))
    return rows


@dataclass(frozen=True, slots=True)
class CriterionRow:
    """A criterion of one version: its text, figures, and whether it passed."""

    text: str
    value: Shown
    threshold: str
    judged_on: str
    passed: bool
    note: str | None


def criterion_rows(fmt: Formats, summary: VersionSummary, currency: str) -> list[CriterionRow]:
    """The version's criteria with their values and intervals, as the gate judged them."""
    out = []
    for c in summary.criteria:
        kind = metric_kind(c.metric, c.unit)
        money = c.unit if len(c.unit) == 3 and c.unit.isupper() else currency
        out.append(
            CriterionRow(
                text=c.text,
                value=Shown(figure(fmt, c.value, kind, money), interval(fmt, c.low, c.high, kind, money)),
                threshold=f"{c.op} {figure(fmt, c.threshold, kind, money)}",
                judged_on=_judged(fmt, c),
                passed=c.passed,
                note=c.note,
            )
        )
    return out


def _judged(fmt: Formats, c: CriterionResult) -> str:
    key = {"estimate": "estimate", "lower bound": "lower_bound", "upper bound": "upper_bound"}.get(c.judged_on)
    return fmt.t(f"webruns.judged.{key}") if key else c.judged_on
