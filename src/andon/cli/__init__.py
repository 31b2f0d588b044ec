"""The ``andon`` command line: a thin face over the workspace, store and engine.

Exit codes: 0 success; 1 a gate or check failed; 2 a usage or configuration error; 3 a provider or
call failed; 130 interrupted.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Annotated

import typer
import typer.main
from rich.markup import escape

from andon._version import __version__
from andon.cli import call_cmds, eval_cmds, setup_cmds, version_cmds
from andon.cli._common import err_console, options
from andon.cli._help import localize, set_language
from andon.errors import AndonError
from andon.messages import set_language as set_message_language
from andon.messages import t

EXIT_CODES = """\
Exit codes: 0 success · 1 a gate or check failed · 2 usage or configuration error ·
3 a provider or call failed · 130 interrupted."""

app = typer.Typer(
    name="andon",
    help=f"Evaluate, serve and watch AI features: versioned prompts with provenance.\n\n{EXIT_CODES}",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        print(f"andon {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    workspace: Annotated[
        Path | None, typer.Option("--workspace", "-w", help="Workspace folder (default: search upwards from here).")
    ] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="Message language: en or ko (or set ANDON_LANG).")] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Global options."""
    options.workspace = workspace
    if lang:
        set_message_language(lang)


app.command()(setup_cmds.init)
app.command()(setup_cmds.schema)
app.command()(setup_cmds.check)
app.add_typer(setup_cmds.model_app, name="model")
app.command()(version_cmds.versions)
app.command()(version_cmds.diff)
app.command()(call_cmds.invoke)
app.command()(call_cmds.cite)
app.command("eval")(eval_cmds.eval_)
app.command()(eval_cmds.compare)
app.command()(eval_cmds.report)
app.command()(eval_cmds.runs)

# Command groups of other areas: each module has `register(app)`; the list is explicit, not discovered.
for _name in (
    "demo_cmds",
    "serve_cmds",
    "keys_cmds",
    "trace_cmds",
    "deploy_cmds",
    "rollout_cmds",
    "experiment_cmds",
    "review_cmds",
    "approval_cmds",
    "incident_cmds",
    "watch_cmds",
    "okr_cmds",
    "web_cmds",
    "dossier_cmds",
    "power_cmds",
    "robust_cmds",
    "agreement_cmds",
    "improve_cmds",
    "knowledge_cmds",
    "store_cmds",
):
    if importlib.util.find_spec(f"andon.cli.{_name}") is not None:
        importlib.import_module(f"andon.cli.{_name}").register(app)


def main() -> None:
    """Entry point: user errors print as one clear message (no traceback) with their exit code."""
    # --help is printed while the command line is parsed: its language is known before (cli/_help.py).
    language = set_language(sys.argv[1:])
    command = typer.main.get_command(app)
    localize(command, language)
    try:
        command()
    except AndonError as exc:
        # Escaped: messages quote user text such as `recall[reject] >= 0.9`, which is not console markup.
        where = f"{escape(exc.where)}: " if exc.where else ""
        err_console.print(
            f"[bold red]{t('error.prefix')}[/]: {where}{escape(exc.message)}", markup=True, highlight=False
        )
        if exc.hint:
            err_console.print(f"  [yellow]{t('hint.prefix')}[/]: {escape(exc.hint)}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print(t("polish.interrupted"))
        sys.exit(130)
