"""Commands that call a feature and cite what it said: invoke, cite."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from andon.citation import citation_markdown
from andon.cli._common import console, open_workspace, print_json, run
from andon.deploy import live_version
from andon.errors import ConfigError
from andon.messages import t
from andon.workspace import Workspace


def parse_vars(pairs: list[str], vars_file: Path | None) -> dict[str, Any]:
    """Variables from ``--var key=value`` pairs (values parsed as JSON when they parse) and a JSON file."""
    variables: dict[str, Any] = {}
    if vars_file is not None:
        try:
            loaded = json.loads(vars_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(t("house3.cli.vars_unreadable", error=exc), where=str(vars_file)) from None
        if not isinstance(loaded, dict):
            raise ConfigError(t("house3.cli.vars_object"), where=str(vars_file))
        variables.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(t("house3.cli.var_pair", pair=pair), hint=t("house3.cli.var_pair_hint"))
        try:
            variables[key] = json.loads(value)
        except json.JSONDecodeError:
            variables[key] = value
    return variables


def invoke(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    var: Annotated[list[str] | None, typer.Option("--var", "-v", help="A variable as key=value (repeatable).")] = None,
    vars_file: Annotated[Path | None, typer.Option("--vars-file", help="A JSON object of variables.")] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Version name, id or prefix; default: the live one (andon live).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Always call the provider.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored output as JSON.")] = False,
) -> None:
    """Run FEATURE once (its live version, or --version) on the given variables and store the output with its provenance."""
    variables = parse_vars(var or [], vars_file)
    with open_workspace() as ws:
        outcome, record = run(_invoke(ws, feature, variables, version, not no_cache))
    if as_json:
        print_json(_record_json(record))
    else:
        shown = (
            json.dumps(outcome.output_json, ensure_ascii=False, indent=2)
            if outcome.output_json is not None
            else outcome.output_text
        )
        console.print(shown or "", markup=False)
        if outcome.status == "error":
            console.print(f"[red]{t('error.prefix')}[/]: {outcome.error}")
        console.print(f"[dim]{t('run.output_saved', output_id=record.id)}[/]")
    if outcome.status == "error":
        raise typer.Exit(3)


async def _invoke(ws: Workspace, feature: str, variables: dict[str, Any], version: str | None, use_cache: bool) -> Any:
    if version is None:
        # The same resolver as the gateway's: nothing is live until promoted, whatever andon.yaml declares last.
        version = (await asyncio.to_thread(live_version, ws, feature)).require()[0]
    try:
        return await ws.invoke(feature, variables, version=version, use_cache=use_cache)
    finally:
        await ws.aclose_providers()


def _record_json(record: Any) -> dict[str, Any]:
    from dataclasses import asdict

    data = asdict(record)
    data["started_at"] = record.started_at.isoformat()
    data["finished_at"] = record.finished_at.isoformat()
    return data


def cite(
    output_id: Annotated[str, typer.Argument(help="Output id (or a unique prefix).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the provenance record as JSON.")] = False,
) -> None:
    """Print a citation card (prompt, output, model, parameters) in Markdown for OUTPUT_ID."""
    with open_workspace() as ws:
        record = ws.store.get_output(output_id)
    if as_json:
        print_json(_record_json(record))
    else:
        print(citation_markdown(record))
