"""Commands that improve a feature with a model: ``andon improve`` and ``andon cases suggest|drafts|accept|reject``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.text import Text

from andon.cli._common import Listing, console, open_workspace, print_json, run
from andon.cli._options import JsonOption
from andon.errors import ConfigError
from andon.evals.improve import Improvement, aimprove
from andon.evals.splits import DEFAULT_SALT, Split
from andon.evals.suggest_cases import (
    accept_drafts,
    asuggest_cases,
    drafts_path,
    feature_dataset,
    read_drafts,
    reject_drafts,
)
from andon.messages import current_language, t

cases_app = typer.Typer(
    name="cases", help="Draft edge cases with a model and accept them into the dataset.", no_args_is_help=True
)
ProviderOption = Annotated[
    str | None, typer.Option("--provider", help="Provider to ask (default: the version's own, else the only one).")
]
ModelOption = Annotated[str | None, typer.Option("--model", help="Model to ask (default: the provider's).")]


def improve(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    version: Annotated[str, typer.Argument(help="The version to improve (name, id or id prefix).")],
    run_ref: Annotated[
        str | None,
        typer.Option("--run", help="Run whose failed cases to learn from (default: the latest with VERSION)."),
    ] = None,
    provider: ProviderOption = None,
    model: ModelOption = None,
    judge_share: Annotated[
        float, typer.Option("--judge-share", help="Share of the cases kept for judging, never shown to the model.")
    ] = 0.5,
    salt: Annotated[str, typer.Option("--split-salt", help="Salt of the case-id hash that splits the dataset.")] = (
        DEFAULT_SALT
    ),
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Cells evaluated at once.")] = 4,
    as_json: JsonOption = False,
) -> None:
    """Revise VERSION's prompt from a run's failed cases with a model, and judge the candidate on held-out cases."""
    with open_workspace() as ws:
        result = run(
            aimprove(
                ws, feature, version, run=run_ref, provider=provider, model=model,
                split=Split(salt, judge_share), concurrency=concurrency,
            )
        )  # fmt: skip
        currency = ws.config.currency
    if as_json:
        print_json(result.to_json())
        return
    _print_improvement(result, currency)


def _print_improvement(result: Improvement, currency: str) -> None:
    from andon.evals.report import terminal

    split = result.split
    console.print(
        Text(t("improve.report.split", salt=split.salt, learn=len(result.learn_ids), judge=len(result.judge_ids))),
        style="dim",
    )
    if result.withheld_ids:
        ids = ", ".join(result.withheld_ids)
        console.print(Text(t("improve.report.withheld", n=len(result.withheld_ids), ids=ids)), style="yellow")
    if result.status == "nothing_to_learn":
        key = "improve.report.all_withheld" if result.withheld_ids else "improve.report.nothing"
        console.print(Text(t(key, run=result.source_run)))
        return
    proposal = t(
        "improve.report.proposal", provider=result.provider, model=result.model,
        n=len(result.failed_ids), output_id=result.proposal_output_id,
    )  # fmt: skip
    console.print(Text(proposal))
    console.print(Text(t("improve.report.rationale"), style="bold"))
    console.print(Text(result.rationale or ""))
    if result.status == "unchanged" or result.candidate is None:
        console.print(Text(t("improve.report.unchanged")))
        return
    candidate = result.candidate
    console.print(
        Text(
            t("improve.report.candidate", name=candidate.name, id=candidate.short_id, feature=result.feature,
              base=result.base.name, run=result.run_id)
        )
    )  # fmt: skip
    comparison = result.comparison
    if comparison is not None:
        terminal.print_comparison(comparison, console, language=current_language(), currency=currency)
    snippet = result.snippet() or ""
    if result.better:
        console.print(Text(t("improve.report.better", base=result.base.name), style="bold green"))
    else:
        n = comparison.n_pairs if comparison is not None else 0
        console.print(Text(t("improve.report.not_better", base=result.base.name, n=n), style="bold"))
        if result.local_model:
            console.print(Text(t("improve.report.local"), style="yellow"))
        console.print(Text(t("improve.report.anyway")))
    console.print(Text(snippet))


@cases_app.command("suggest")
def suggest(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    policy: Annotated[str, typer.Option("--policy", help="The policy the drafted cases should probe.")],
    n: Annotated[int, typer.Option("--n", help="How many cases to ask for.")] = 5,
    version: Annotated[
        str | None, typer.Option("--version", help="Version whose prompt the model reads (default: the last one).")
    ] = None,
    provider: ProviderOption = None,
    model: ModelOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask a model for edge cases of a policy, written as drafts beside the dataset until accepted."""
    with open_workspace() as ws:
        result = run(asuggest_cases(ws, feature, policy, n=n, version=version, provider=provider, model=model))
    if as_json:
        print_json(
            {"path": str(result.path), "drafts": result.drafts, "dropped": result.dropped,
             "withheld_no_consent": result.withheld_ids, "output_id": result.output_id}
        )  # fmt: skip
        return
    if result.withheld_ids:
        console.print(Text(t("improve.cli.examples_withheld", n=len(result.withheld_ids))), style="yellow")
    if not result.drafts:
        console.print(Text(t("improve.cli.suggested_none", dropped=result.dropped)))
        return
    _print_drafts(result.drafts)
    if result.dropped:
        console.print(Text(t("improve.cli.dropped", n=result.dropped)), style="dim")
    shown = t(
        "improve.cli.suggested", n=len(result.drafts), path=result.path, feature=feature, output_id=result.output_id
    )
    console.print(Text(shown))


@cases_app.command("drafts")
def drafts(feature: Annotated[str, typer.Argument(help="Feature name.")], as_json: JsonOption = False) -> None:
    """List the drafted cases waiting to be accepted."""
    with open_workspace() as ws:
        path = drafts_path(feature_dataset(ws, feature).path)
    found = read_drafts(path)
    if as_json:
        print_json(found)
        return
    if not found:
        console.print(Text(t("improve.cli.no_drafts", feature=feature, path=path)))
        return
    _print_drafts(found)


def _print_drafts(found: list[dict[str, object]]) -> None:
    table = Listing()
    table.column(t("improve.col.id"), "id")
    table.column(t("improve.col.label"))
    table.column(t("improve.col.inputs"), "clip")
    table.column(t("improve.col.reason"))
    for draft in found:
        inputs = json.dumps(draft.get("vars"), ensure_ascii=False)
        table.row(escape(str(draft.get("id"))), escape(str(draft.get("label") or "")), escape(inputs),
                  escape(str(draft.get("reason") or "")))  # fmt: skip
    table.print(console)


@cases_app.command("accept")
def accept(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    ids: Annotated[list[str] | None, typer.Argument(help="Draft ids to accept.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Accept every draft.")] = False,
) -> None:
    """Append drafted cases to the feature's dataset (in its own format) and remove them as drafts."""
    if not ids and not every:
        raise ConfigError(t("improve.accept.what"), where="IDS")
    with open_workspace() as ws:
        result = accept_drafts(ws, feature, None if every else ids)
    if result.accepted:
        console.print(Text(t("improve.cli.accepted", n=len(result.accepted), path=result.dataset,
                             ids=", ".join(result.accepted))))  # fmt: skip
    if result.already_there:
        console.print(Text(t("improve.cli.already", ids=", ".join(result.already_there))), style="dim")
    if result.unknown:
        console.print(Text(t("improve.cli.unknown", ids=", ".join(result.unknown))), style="yellow")
        raise typer.Exit(1)


@cases_app.command("reject")
def reject(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    ids: Annotated[list[str], typer.Argument(help="Draft ids to remove.")],
) -> None:
    """Remove drafted cases without adding them to the dataset."""
    with open_workspace() as ws:
        gone, unknown = reject_drafts(ws, feature, ids)
    if gone:
        console.print(Text(t("improve.cli.rejected", n=len(gone), ids=", ".join(gone))))
    if unknown:
        console.print(Text(t("improve.cli.unknown", ids=", ".join(unknown))), style="yellow")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``andon improve`` and ``andon cases …`` to the ``andon`` app."""
    app.command("improve")(improve)
    app.add_typer(cases_app, name="cases")


__all__ = ["cases_app", "improve", "register"]
