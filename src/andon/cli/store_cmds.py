"""`andon store maintain`: upkeep of the store itself (PostgreSQL's weekly partitions of traces and spans)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from andon.cli._common import console, options, print_json
from andon.cli._options import JsonOption
from andon.config.loader import find_config
from andon.messages import t
from andon.store import Store
from andon.store.partitions import AHEAD_WEEKS

store_app = typer.Typer(help="The store itself: partitions of traces and spans (PostgreSQL).", no_args_is_help=True)


@store_app.command("maintain")
def maintain(
    ahead: Annotated[
        int, typer.Option("--ahead", min=0, max=520, help="Weeks past this one that must have partitions.")
    ] = AHEAD_WEEKS,
    as_json: JsonOption = False,
) -> None:
    """Make the coming weeks' partitions of traces and spans (PostgreSQL; SQLite has none to make)."""
    with Store.open(workspace=find_config(options.workspace).parent) as store:
        made = store.maintain_partitions(ahead)
        dialect = store.dialect
    if as_json:
        print_json({"dialect": dialect, "made": made})
    elif dialect != "postgresql":
        console.print(t("store13.maintain.sqlite"))
    elif made:
        console.print(t("store13.maintain.made", n=len(made), names=escape(", ".join(made))))
    else:
        console.print(t("store13.maintain.none", ahead=ahead))


def register(app: typer.Typer) -> None:
    """Add ``andon store`` to the app."""
    app.add_typer(store_app, name="store")
