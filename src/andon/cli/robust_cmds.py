"""``andon robustness``: a stored robustness run's flip rates and flipped cases; the suite ``andon eval`` runs."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from andon.cli._common import console, open_workspace, print_json
from andon.engine.masking import MaskPolicy
from andon.errors import ConfigError
from andon.evals.perturb import build_suite
from andon.evals.plan import RunPlan
from andon.evals.report.robustness import (
    print_robustness,
    robustness_html,
    robustness_markdown,
    robustness_to_dict,
)
from andon.evals.robust_run import ModelParaphraser, is_robustness_run, perturbed_dataset, robustness_report
from andon.evals.robustness import RobustnessReport
from andon.evals.runner import RunOutcome
from andon.messages import current_language, t
from andon.workspace import Workspace

__all__ = ["register", "robustness", "run_suite", "show", "to_dict"]


# ``andon eval``'s run under its progress bar (eval_cmds.run_with_progress): passed in, as eval_cmds imports us.
Runner = Callable[..., Awaitable[RunOutcome]]


def run_suite(
    ws: Workspace, plan: RunPlan, names: tuple[str, ...], runner: Runner, *, concurrency: int, use_cache: bool,
    quiet: bool,
) -> RobustnessReport | None:  # fmt: skip
    """Run ``names`` (else andon.yaml's ``robustness``) on the plan's cases as a run of its own; None if neither."""
    feature = ws.feature(plan.feature)
    config = feature.robustness
    if not names and (config is None or not config.perturbations):
        return None
    suite = build_suite(config, names or None)
    seed = config.seed if config is not None else 0
    paraphrase = ModelParaphraser(ws, MaskPolicy.of(feature.serve.data_use))

    async def go() -> str:
        try:
            dataset, record = await perturbed_dataset(plan.dataset, suite, seed, paraphrase)
        finally:
            await ws.aclose_providers()
        paired = dataclasses.replace(plan, dataset=dataset, run_id=None)
        outcome = await runner(ws, paired, concurrency, None, None, use_cache, quiet=quiet, extra_config=record)
        return outcome.run_id

    run_id = asyncio.run(go())
    return robustness_report(ws.store, ws.store.get_run(run_id))


def show(report: RobustnessReport) -> None:
    """Print a robustness report in the current language."""
    print_robustness(report, console, language=current_language())


def to_dict(report: RobustnessReport) -> dict[str, Any]:
    """A robustness report as JSON-ready data."""
    return robustness_to_dict(report)


def robustness(
    run: Annotated[str, typer.Argument(help="A robustness run (id or unique prefix).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    markdown_file: Annotated[Path | None, typer.Option("--markdown", help="Write it as Markdown.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write it as one HTML file.")] = None,
) -> None:
    """Flip rates (with their intervals) of a run made by `andon eval --robustness`, and the cases that flipped."""
    language = current_language()
    with open_workspace() as ws:
        record = ws.store.get_run(run)
        if not is_robustness_run(record):
            raise ConfigError(
                t("evalrobust.cli.not_robustness", run_id=record.id), where=run,
                hint=t("evalrobust.cli.not_robustness_hint", feature=record.feature),
            )  # fmt: skip
        report = robustness_report(ws.store, record)
    if markdown_file is not None:
        markdown_file.write_text(robustness_markdown(report, language), encoding="utf-8")
    if html is not None:
        html.write_text(robustness_html(report, language), encoding="utf-8")
    if as_json:
        print_json(robustness_to_dict(report))
        return
    print_robustness(report, console, language=language)
    written = [str(p) for p in (markdown_file, html) if p is not None]
    if written:
        console.print(f"[dim]{t('eval.wrote', paths=', '.join(written))}[/]")


def register(app: typer.Typer) -> None:
    """Add ``andon robustness``."""
    app.command()(robustness)
