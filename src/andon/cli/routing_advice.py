"""``andon eval --suggest-routing``: the confidence threshold that reaches a precision, and how to set it."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from andon.evals.calibration import RoutingSuggestion, RoutingTarget, suggest_from_curve
from andon.evals.confidence import FIELD, LOGPROB, parse_source
from andon.evals.model import RunReport
from andon.messages import t

__all__ = ["print_routing", "routing_json"]


def _suggestions(report: RunReport, target: RoutingTarget) -> list[tuple[str, str, RoutingSuggestion]]:
    return [(c.version_name, c.source, suggest_from_curve(c.curve, target)) for c in report.calibration]


def routing_json(report: RunReport, target: RoutingTarget) -> list[dict[str, Any]]:
    """The suggestions as JSON rows, one per version whose answers carry a confidence."""
    return [
        {"version": name, "source": source, "min_confidence": s.threshold, "precision": s.precision,
         "precision_low": s.precision_low, "precision_high": s.precision_high, "automated": s.automated,
         "coverage": s.coverage, "coverage_low": s.coverage_low, "coverage_high": s.coverage_high, "n": s.n,
         "best_low": s.best_low, "target": s.target, "confidence_level": s.confidence_level,
         "interval": "Clopper-Pearson"}
        for name, source, s in _suggestions(report, target)
    ]  # fmt: skip


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def print_routing(report: RunReport, target: RoutingTarget, console: Console, language: str) -> None:
    """One paragraph per version: the threshold, its precision interval, the share automated, the andon.yaml lines."""
    found = _suggestions(report, target)
    if not found:
        console.print(f"[yellow]{escape(t('evalcal.routing.no_confidence', language=language))}[/]")
        return
    for name, source, s in found:
        level = f"{s.confidence_level:.0%}"
        if s.threshold is None:
            line = t("evalcal.routing.unreachable", language=language, version=name, target=target.text, n=s.n,
                     level=level, best=_pct(s.best_low), source=source)  # fmt: skip
            console.print(f"[yellow]{escape(line)}[/]")
            continue
        threshold = f"{s.threshold:.6g}"
        console.print(
            escape(
                t("evalcal.routing.found", language=language, version=name, target=target.text, source=source,
                  threshold=threshold, precision=_pct(s.precision), low=_pct(s.precision_low),
                  high=_pct(s.precision_high), level=level, automated=s.automated, n=s.n, coverage=_pct(s.coverage),
                  coverage_low=_pct(s.coverage_low), coverage_high=_pct(s.coverage_high))
            )
        )  # fmt: skip
        kind, path = parse_source(source)
        if kind in (FIELD, LOGPROB):
            snippet = (
                f"features:\n  {report.run.feature}:\n    serve:\n      routing:\n"
                f"        confidence_path: {path}\n"
                + ("        confidence_source: logprob\n" if kind == LOGPROB else "")
                + f"        min_confidence: {threshold}"
            )
            console.print(escape(t("evalcal.routing.set", language=language)))
            console.print(escape(snippet), style="dim")
        else:
            console.print(f"[yellow]{escape(t('evalcal.routing.not_servable', language=language, source=source))}[/]")
