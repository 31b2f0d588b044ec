"""`andon dossier` (a feature's record, Markdown or HTML) and `andon privacy delete-user` (issue 15)."""

from __future__ import annotations

import dataclasses
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from andon.cli._common import console, open_workspace, print_json
from andon.config.risk import CHECKLIST
from andon.deploy.dossier import build_dossier
from andon.deploy.dossier_render import render
from andon.errors import AndonError
from andon.messages import t

_COUNTS = ("traces", "outputs", "feedback", "review_items", "cache_entries")
privacy_app = typer.Typer(help="End users' data: delete a user's traces on request.", no_args_is_help=True)


class Format(StrEnum):
    """Output formats of the dossier."""

    md = "md"
    html = "html"


class Language(StrEnum):
    """Languages the dossier is written in."""

    en = "en"
    ko = "ko"


def dossier(
    feature: Annotated[str | None, typer.Argument(help="Feature name.")] = None,
    lang: Annotated[
        Language | None, typer.Option("--lang", help="Language of the document (default: andon.yaml's language).")
    ] = None,
    fmt: Annotated[
        Format | None, typer.Option("--format", help="md or html (default: from the -o file's suffix, else md).")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: print).")] = None,
    base_url: Annotated[
        str, typer.Option("--base-url", help="The dashboard's address, put before links such as /runs/ID.")
    ] = "",
    checklist: Annotated[
        bool, typer.Option("--checklist", help="List the risk checklist (ids for risk.reasons) and exit.")
    ] = False,
) -> None:
    """Write FEATURE's dossier for an auditor, in Markdown or HTML: each statement names its source record."""
    if checklist:
        console.print(t("dossier.cli.checklist_head"))
        for item in CHECKLIST:
            console.print(f"  {item.id:<34} {item.tier:<12} {escape(item.text())}  [dim]({escape(item.basis)})[/]")
        return
    if feature is None:
        raise AndonError(t("dossier.cli.no_feature"), hint=t("dossier.cli.no_feature_hint"))
    chosen = (
        fmt.value if fmt else ("html" if output is not None and output.suffix.lower() in (".html", ".htm") else "md")
    )
    with open_workspace() as ws:
        language = lang.value if lang else (ws.config.language if ws.config.language in ("en", "ko") else "en")
        document = render(build_dossier(ws, feature, language=language), chosen, base_url=base_url)
    if output is None:
        sys.stdout.write(document)
        return
    output.write_text(document, encoding="utf-8")
    console.print(t("dossier.cli.written", feature=feature, path=escape(str(output))))


@privacy_app.command("delete-user")
def delete_user(
    user: Annotated[str, typer.Argument(help="The end user's id, as the product sends it (user_id).")],
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's traces of the user.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Delete USER's traces with their outputs, feedback, review items and cached answers; print the counts."""
    with open_workspace() as ws:
        counts = ws.store.delete_user_traces(user, tenant=tenant)
    values = {k: v for k, v in dataclasses.asdict(counts).items() if k in _COUNTS}
    if as_json:
        print_json({"user": user, **values})
        return
    console.print(t("privacy.cli.deleted", user=escape(user), **values))


def register(app: typer.Typer) -> None:
    """Add `andon dossier` and `andon privacy`."""
    app.command()(dossier)
    app.add_typer(privacy_app, name="privacy")


__all__ = ["register"]
