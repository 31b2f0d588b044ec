"""``andon agreement``: how far the people who labelled a dataset agree (kappa, alpha, intervals, guideline)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from andon.cli._common import console, open_workspace, print_json
from andon.errors import ConfigError
from andon.evals.agreement import AgreementReport, label_agreement
from andon.evals.dataset import load_dataset
from andon.messages import current_language, t

__all__ = ["agreement", "register"]

MAX_SPLIT = 20


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def agreement(
    feature: Annotated[str | None, typer.Argument(help="Feature whose dataset to read.")] = None,
    dataset: Annotated[Path | None, typer.Option("--dataset", help="A dataset file instead of the feature's.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap intervals.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Agreement between the people who labelled the cases (`labels:`): Cohen's or Fleiss' kappa and
    Krippendorff's alpha with 95 % bootstrap intervals, and the labelling guideline's hash."""
    with open_workspace() as ws:
        if dataset is None:
            if feature is None:
                raise ConfigError(t("evalrobust.cli.agreement_what"), hint=t("evalrobust.cli.agreement_what_hint"))
            source = ws.feature(feature).dataset
            if source is None:
                raise ConfigError(
                    t("evals.plan.no_dataset", feature=feature), hint=t("evals.plan.no_dataset_hint", feature=feature)
                )
            dataset = Path(source)
        data = load_dataset(dataset, ws.root)
    report = label_agreement(data.cases, guideline=data.guideline, seed=seed)
    if as_json:
        print_json(_as_dict(report))
        return
    _print(report, str(data.path))


def _as_dict(report: AgreementReport) -> dict[str, object]:
    return {
        "raters": report.raters, "cases": report.n_cases, "labelled": report.n_labelled,
        "values": [{"method": v.method, "value": v.value, "low": v.low, "high": v.high, "n": v.n} for v in report.values],
        "guideline": report.guideline.to_json() if report.guideline else None,
        "disagreements": report.disagreements,
    }  # fmt: skip


def _print(report: AgreementReport, path: str) -> None:
    language = current_language()
    if len(report.raters) < 2:
        console.print(Text(t("evalrobust.agreement.too_few", path=path, n=len(report.raters)), style="yellow"))
        console.print(Text(t("evalrobust.agreement.too_few_hint"), style="dim"))
        return
    title = t("evalrobust.agreement.title", path=path, raters=", ".join(report.raters), labelled=report.n_labelled,
              cases=report.n_cases)  # fmt: skip
    table = Table(title=Text(title), title_justify="left")
    for column in ("method", "value", "interval", "n"):
        table.add_column(t(f"evalrobust.agreement.col.{column}", language=language))
    for v in report.values:
        span = "—" if v.low is None or v.high is None else f"[{v.low:.3f}, {v.high:.3f}]"
        method = t(f"evalrobust.agreement.method.{v.method}", language=language)
        table.add_row(Text(method), Text(_number(v.value)), Text(span), Text(str(v.n)))
    console.print(table)
    if report.guideline is not None:
        guide = t("evalrobust.agreement.guideline", file=report.guideline.path.name, sha=report.guideline.sha256[:12])
        console.print(Text(guide))
    else:
        console.print(Text(t("evalrobust.agreement.no_guideline", path=path), style="dim"))
    if report.disagreements:
        shown = ", ".join(report.disagreements[:MAX_SPLIT]) + (" …" if len(report.disagreements) > MAX_SPLIT else "")
        console.print(Text(t("evalrobust.agreement.split", n=len(report.disagreements), cases=shown)))


def register(app: typer.Typer) -> None:
    """Add ``andon agreement``."""
    app.command()(agreement)
