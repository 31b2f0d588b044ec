"""Commands that set a workspace up: init, schema, check, model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from andon.cli._common import console, err_console, open_workspace, print_json
from andon.config.loader import find_config
from andon.config.schema import WorkspaceConfig
from andon.messages import t
from andon.workspace import init_workspace

EXIT_CONFIG = 2  # a configuration error, as for every other command


def init(
    path: Annotated[Path, typer.Argument(help="Folder for the workspace (created if missing).")] = Path("."),
    name: Annotated[str | None, typer.Option(help="Workspace name; defaults to the folder name.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing andon.yaml.")] = False,
) -> None:
    """Create andon.yaml and .andon/ (the store) in PATH."""
    target = init_workspace(path.resolve(), name=name or path.resolve().name, force=force)
    console.print(t("init.created", path=target.parent))


def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file instead of stdout.")] = None,
) -> None:
    """Print the JSON Schema of andon.yaml (for editor completion and validation)."""
    text = json.dumps(WorkspaceConfig.model_json_schema(), indent=2, ensure_ascii=False)
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        console.print(t("schema.written", path=output))


def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Validate andon.yaml and all it names (datasets, graders, judges, templates); list every problem, exit 2."""
    from andon.cli._common import options
    from andon.evals.check import check_workspace

    report = check_workspace(find_config(options.workspace))
    if as_json:
        print_json(
            {
                "path": str(report.path),
                "valid": report.valid,
                "problems": [p.as_json() for p in report.problems],
                "versions": report.versions,
            }
        )
    elif report.config is not None:
        features, providers = len(report.config.features), len(report.config.providers)
        console.print(t("config.ok", path=report.path, features=features, providers=providers))
    else:
        for problem in report.problems:
            err_console.print(f"[bold red]{t('error.prefix')}[/]: {escape(problem.line())}")
            if problem.hint:
                err_console.print(f"  [yellow]{t('hint.prefix')}[/]: {escape(problem.hint)}")
        n = len(report.problems)
        summary = t("check.summary_one", path=report.path) if n == 1 else t("check.summary", n=n, path=report.path)
        err_console.print(f"[bold]{escape(summary)}[/]")
    if not report.valid:
        raise typer.Exit(EXIT_CONFIG)


model_app = typer.Typer(help="The embedded model: prepare (join and verify) and inspect it.", no_args_is_help=True)


@model_app.command("prepare")
def model_prepare(
    model: Annotated[
        str | None, typer.Argument(help="Model name or .gguf path; default: the workspace's local model.")
    ] = None,
) -> None:
    """Join the packaged model parts once and verify their sha256 (the first call does this anyway)."""
    from andon.providers.local_model import DEFAULT_MODEL, resolve_model_path

    name = model
    if name is None:
        try:
            with open_workspace() as ws:
                local = [p for p in ws.config.providers.values() if p.type == "local"]
                name = local[0].model if local else None
        except Exception:
            name = None
    path = resolve_model_path(name or DEFAULT_MODEL, {})
    console.print(f"{name or DEFAULT_MODEL}: {path}")
